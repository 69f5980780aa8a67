using System.Net;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// SMART Backend Services: every token request carries a signed assertion with a unique <c>jti</c>, and the
/// authorization server refuses an assertion it has seen before. A token request that failed on the server's side
/// (503) is therefore retried with a new assertion, never by sending the same one again.
/// </summary>
public sealed class SmartTokenRetryTests
{
    [Fact]
    public async Task A_token_request_the_server_failed_is_retried_with_a_new_assertion_not_a_replayed_one()
    {
        // A host of its own: the shared fixture's host may hold a token already.
        var fx = new IntakeFixture();
        try
        {
            fx.Fhir.TokenFailures = 1;
            await fx.InitializeAsync();

            using var put = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Put, "/api/notifications/smart/Encounter/enc-smart-retry", null, IntakeFixture.SmartSecret);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);

            await fx.WaitForEventsAsync("smart", r => r.Any(e => e.GetString("ResourceId") == "enc-smart-retry"), "fetched once a token was issued");
            Assert.Contains($"/fhir/Encounter/enc-smart-retry Bearer {FakeFhirServer.IssuedToken}", fx.Fhir.Authorizations);
            var jtis = fx.Fhir.TokenJtis.ToList();
            Assert.Equal(0, fx.Fhir.TokenReplays);
            Assert.Equal(2, jtis.Count); // the one the server failed, and the new one it accepted
            Assert.Equal(jtis.Count, jtis.Distinct(StringComparer.Ordinal).Count());
        }
        finally
        {
            await fx.DisposeAsync();
        }
    }
}
