using System.Net;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Foundation;

[Collection(HostCollection.Name)]
public sealed class HealthTests(HostFixture fixture)
{
    private static readonly FhirJsonDeserializer Parser = new();

    [Fact]
    public async Task Health_is_200_when_storage_and_the_durable_engine_answer()
    {
        using var response = await fixture.Host.Client.GetAsync(new Uri("/api/health", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var outcome = Parser.Deserialize<OperationOutcome>(await response.Content.ReadAsStringAsync());
        Assert.All(outcome.Issue, issue => Assert.Equal(OperationOutcome.IssueSeverity.Information, issue.Severity));
        Assert.Contains(outcome.Issue, i => i.Diagnostics is not null && i.Diagnostics.StartsWith("storage: reachable", StringComparison.Ordinal));
        Assert.Contains(outcome.Issue, i => i.Diagnostics is not null && i.Diagnostics.StartsWith("durable: reachable", StringComparison.Ordinal));
        // Intake on the app's account (the default): one storage probe, not two.
        Assert.DoesNotContain(outcome.Issue, i => i.Diagnostics is not null && i.Diagnostics.StartsWith("intake storage", StringComparison.Ordinal));
        Assert.Equal(2, outcome.Issue.Count);
    }

    [Fact]
    public async Task Health_is_503_with_an_OperationOutcome_when_storage_is_unreachable()
    {
        // Storage endpoints on a port nothing listens on: the host must still start and say so, not crash.
        var dead = TestEnvironment.FreeTcpPort();
        var deadStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;" +
            $"TableEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;";
        await using var host = new StandaloneHost(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = deadStorage });
        await host.StartAsync(requireHealthy: false);

        using var response = await host.Client.GetAsync(new Uri("/api/health", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.RetryAfter is not null, "503 tells the caller when to retry");
        var outcome = Parser.Deserialize<OperationOutcome>(await response.Content.ReadAsStringAsync());
        Assert.Contains(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error && i.Diagnostics is not null && i.Diagnostics.StartsWith("storage: not reachable", StringComparison.Ordinal));
        Assert.True(host.IsRunning, "the host keeps serving while storage is down");
    }
}
