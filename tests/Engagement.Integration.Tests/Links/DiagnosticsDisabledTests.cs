using System.Net;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Links;

/// <summary>The test-only routes do not exist unless Engagement__Diagnostics__Enabled is true (the default host has it off).</summary>
[Collection(HostCollection.Name)]
public sealed class DiagnosticsDisabledTests(HostFixture fixture)
{
    [Theory]
    [InlineData("POST", "/api/diagnostics/links")]
    [InlineData("POST", "/api/diagnostics/links/use")]
    [InlineData("POST", "/api/diagnostics/links/AAAAAAAAAAAAAAAAAAAAAA/revoke")]
    [InlineData("GET", "/api/diagnostics/smart/authorize?type=Task&interaction=r")]
    public async Task Diagnostics_routes_are_404_even_with_the_admin_key_when_diagnostics_are_off(string method, string path)
    {
        using var request = StandaloneHost.AdminRequest(new HttpMethod(method), path);

        using var response = await fixture.Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Without_configured_issuers_the_smart_configuration_is_404_and_metadata_still_answers()
    {
        using var smart = await fixture.Host.Client.GetAsync(new Uri("/api/fhir/.well-known/smart-configuration", UriKind.Relative));
        using var metadata = await fixture.Host.Client.GetAsync(new Uri("/api/fhir/metadata", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, smart.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
    }
}
