using System.Net;
using System.Text.Json;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Links;

[Collection(LinkHostCollection.Name)]
public sealed class EngagementLinkTests(LinkHostFixture fixture)
{
    private static readonly FhirJsonDeserializer Parser = new();
    private StandaloneHost Host => fixture.Host;

    [Fact]
    public async Task An_issued_link_opens_any_number_of_times_and_every_open_is_recorded()
    {
        var link = await LinkApi.IssueAsync(Host);
        Assert.Equal(new Uri(Host.BaseAddress, "/engage/" + link.Token), link.Url);

        var (first, firstBody, r1) = await LinkApi.PageAsync(Host, link.Token);
        var (second, _, r2) = await LinkApi.PageAsync(Host, link.Token);
        r1.Dispose();
        r2.Dispose();

        Assert.Equal(HttpStatusCode.OK, first);
        Assert.Equal(HttpStatusCode.OK, second);
        Assert.Contains("<html lang=\"en\">", firstBody, StringComparison.Ordinal);
        Assert.Contains("<h1>PHQ-9</h1>", firstBody, StringComparison.Ordinal); // the shipped Questionnaire's title
        var record = await LinkRecordAsync(link.LinkId);
        Assert.Equal(2, record.GetInt32("OpenCount"));
        Assert.NotNull(record.GetDateTimeOffset("FirstOpenedAt"));
        Assert.Equal("patient-4711", record.GetString("PatientId"));
    }

    [Fact]
    public async Task The_context_route_gives_the_questionnaire_task_and_expiry_and_no_patient_id()
    {
        var link = await LinkApi.IssueAsync(Host, patientId: "patient-ctx-1", taskId: "task-ctx-1");

        using var response = await Host.Client.GetAsync(new Uri("/api/engage/" + link.Token, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadAsStringAsync();
        using var body = JsonDocument.Parse(json);
        Assert.Equal(LinkApi.Questionnaire, body.RootElement.GetProperty("questionnaire").GetString());
        Assert.Equal("Task/task-ctx-1", body.RootElement.GetProperty("task").GetString());
        Assert.Equal(link.ExpiresAt, body.RootElement.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.DoesNotContain("patient-ctx-1", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_link_submits_once_and_the_second_submission_is_410()
    {
        var link = await LinkApi.IssueAsync(Host);
        (await LinkApi.PageAsync(Host, link.Token)).Response.Dispose();

        Assert.Equal(HttpStatusCode.NoContent, await LinkApi.UseAsync(Host, link.Token));
        Assert.Equal(HttpStatusCode.Gone, await LinkApi.UseAsync(Host, link.Token));
        var (page, _, response) = await LinkApi.PageAsync(Host, link.Token);
        response.Dispose();
        Assert.Equal(HttpStatusCode.Gone, page);
        await AssertOutcomeAsync(link.Token, HttpStatusCode.Gone, "already used");
    }

    [Fact]
    public async Task Of_many_concurrent_submissions_through_one_link_exactly_one_succeeds()
    {
        var link = await LinkApi.IssueAsync(Host);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => LinkApi.UseAsync(Host, link.Token)));

        Assert.Single(results, s => s == HttpStatusCode.NoContent);
        Assert.All(results.Where(s => s != HttpStatusCode.NoContent), s => Assert.Equal(HttpStatusCode.Gone, s));
    }

    [Fact]
    public async Task An_expired_link_is_410_on_the_page_and_the_api()
    {
        var link = await LinkApi.IssueAsync(Host, lifetimeSeconds: 1);
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        var (page, body, response) = await LinkApi.PageAsync(Host, link.Token);
        response.Dispose();

        Assert.Equal(HttpStatusCode.Gone, page);
        Assert.Contains("expired", body, StringComparison.Ordinal);
        await AssertOutcomeAsync(link.Token, HttpStatusCode.Gone, "expired");
        Assert.Equal(HttpStatusCode.Gone, await LinkApi.UseAsync(Host, link.Token));
    }

    [Fact]
    public async Task A_revoked_link_is_410()
    {
        var link = await LinkApi.IssueAsync(Host);

        Assert.Equal(HttpStatusCode.NoContent, await LinkApi.RevokeAsync(Host, link.LinkId));

        var (page, _, response) = await LinkApi.PageAsync(Host, link.Token);
        response.Dispose();
        Assert.Equal(HttpStatusCode.Gone, page);
        await AssertOutcomeAsync(link.Token, HttpStatusCode.Gone, "revoked");
        Assert.Equal(HttpStatusCode.Gone, await LinkApi.UseAsync(Host, link.Token));
    }

    [Fact]
    public async Task A_forged_token_is_401_on_the_page_and_the_api()
    {
        var link = await LinkApi.IssueAsync(Host);
        var tampered = link.Token[..^1] + (link.Token[^1] == 'A' ? 'B' : 'A');

        foreach (var token in new[] { tampered, "k1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", "hello" })
        {
            var (page, _, response) = await LinkApi.PageAsync(Host, token);
            response.Dispose();
            Assert.Equal(HttpStatusCode.Unauthorized, page);
            await AssertOutcomeAsync(token, HttpStatusCode.Unauthorized, "not valid");
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await LinkApi.UseAsync(Host, tampered));
        Assert.Equal(0, (await LinkRecordAsync(link.LinkId)).GetInt32("OpenCount"));
    }

    [Fact]
    public async Task A_token_whose_key_id_was_swapped_to_another_configured_key_is_401()
    {
        var link = await LinkApi.IssueAsync(Host);
        Assert.StartsWith("k1.", link.Token, StringComparison.Ordinal);

        var (page, _, response) = await LinkApi.PageAsync(Host, "k2" + link.Token[2..]);
        response.Dispose();

        Assert.Equal(HttpStatusCode.Unauthorized, page);
    }

    [Theory]
    [InlineData("forged")]
    [InlineData("revoked")]
    [InlineData("used")]
    public async Task The_failure_page_leaks_neither_the_patient_nor_the_token(string kind)
    {
        var link = await LinkApi.IssueAsync(Host, patientId: "patient-secret-9931", taskId: "task-secret-5521");
        var token = link.Token;
        switch (kind)
        {
            case "forged":
                token = link.Token[..^1] + (link.Token[^1] == 'A' ? 'B' : 'A');
                break;
            case "revoked":
                await LinkApi.RevokeAsync(Host, link.LinkId);
                break;
            default:
                await LinkApi.UseAsync(Host, link.Token);
                break;
        }

        var (status, body, response) = await LinkApi.PageAsync(Host, token);
        using (response)
        {
            Assert.True(status is HttpStatusCode.Unauthorized or HttpStatusCode.Gone, $"status {status}");
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            Assert.Equal("no-referrer", string.Join(',', response.Headers.GetValues("Referrer-Policy")));
            foreach (var secret in new[] { "patient-secret-9931", "task-secret-5521", "9931", link.LinkId, token, link.Token, "phq-9" })
            {
                Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task The_failure_page_is_in_spanish_for_accept_language_es()
    {
        var link = await LinkApi.IssueAsync(Host);
        await LinkApi.RevokeAsync(Host, link.LinkId);

        var (status, body, response) = await LinkApi.PageAsync(Host, link.Token, "es-MX,es;q=0.9,en;q=0.5");
        using (response)
        {
            Assert.Equal(HttpStatusCode.Gone, status);
            Assert.Contains("<html lang=\"es\">", body, StringComparison.Ordinal);
            Assert.Contains("Este enlace ya no está disponible", body, StringComparison.Ordinal);
            Assert.Contains("es", response.Content.Headers.ContentLanguage);
        }
    }

    [Fact]
    public async Task The_diagnostics_link_routes_require_the_admin_key()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/diagnostics/links", UriKind.Relative))
        {
            Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json"),
        };

        using var response = await Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private async Task AssertOutcomeAsync(string token, HttpStatusCode status, string diagnosticsContains)
    {
        using var response = await Host.Client.GetAsync(new Uri("/api/engage/" + Uri.EscapeDataString(token), UriKind.Relative));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var outcome = Parser.Deserialize<OperationOutcome>(await response.Content.ReadAsStringAsync());
        Assert.Contains(outcome.Issue, i => i.Diagnostics?.Contains(diagnosticsContains, StringComparison.Ordinal) == true);
    }

    private static async Task<TableEntity> LinkRecordAsync(string linkId)
    {
        var table = new TableClient(TestEnvironment.StorageConnectionString, "Links");
        return (await table.GetEntityAsync<TableEntity>(linkId, "link")).Value;
    }
}
