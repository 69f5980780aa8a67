using System.Net;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Page;

/// <summary>
/// The patient's page end to end: the standalone host on Azurite, headless Chromium (Debian chromium driven by
/// playwright-core through <c>engage-page.mjs</c>) at a 375 px phone viewport, LHC-Forms from our own static files.
/// </summary>
[Collection(LinkHostCollection.Name)]
public sealed class EngagementPageTests(LinkHostFixture fixture)
{
    private static readonly FhirJsonDeserializer Parser = new();
    private static readonly string[] Answers = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];
    private static readonly int[] AllZero = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly int?[] ItemsThreeAndNineMissing = [1, 1, null, 1, 1, 1, 1, 1, null];
    private static readonly string[] TraversalPaths =
        ["/static/..%2fappsettings.json", "/static/%2e%2e/Engagement.Host.dll", "/static/engage/..%2f..%2fappsettings.json", "/static/lforms/../../appsettings.json"];

    private StandaloneHost Host => fixture.Host;

    [Fact]
    public async Task A_patient_answers_PHQ9_on_a_phone_sees_the_score_and_the_response_is_stored()
    {
        var patient = "pat-" + Guid.NewGuid().ToString("N")[..8];
        var link = await LinkApi.IssueAsync(Host, patient, "task-" + Guid.NewGuid().ToString("N")[..8]);
        int[] answers = [1, 1, 1, 1, 2, 1, 0, 1, 0];

        var page = await BrowseAsync(new
        {
            url = link.Url.ToString(),
            answers,
            filledScreenshot = TestEnvironment.ScreenshotPath("engagement-page.png"),
            doneScreenshot = TestEnvironment.ScreenshotPath("engagement-page-confirmation.png"),
        });

        Assert.Equal(200, page.GetProperty("status").GetInt32());
        Assert.Equal("en", page.GetProperty("lang").GetString());
        Assert.Equal(36, page.GetProperty("radioCount").GetInt32());
        Assert.Contains("Little interest or pleasure in doing things", page.GetProperty("formText").GetString(), StringComparison.Ordinal);
        Assert.True(page.GetProperty("done").GetBoolean(), page.ToString());
        var done = page.GetProperty("doneText").GetString()!;
        Assert.Contains("Thank you", done, StringComparison.Ordinal);
        Assert.Contains("Your total score: 8.", done, StringComparison.Ordinal);
        Assert.Contains("mild symptoms", done, StringComparison.Ordinal);
        Assert.Equal("engage-done", page.GetProperty("focused").GetString());
        Assert.True(page.GetProperty("scrollWidth").GetInt32() <= 375, "the page scrolls sideways at 375 px");
        // Everything came from our own host: no CDN.
        Assert.All(page.GetProperty("requests").EnumerateArray(), h => Assert.Equal(Host.BaseAddress.Authority, h.GetString()));

        using var search = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/QuestionnaireResponse?patient={patient}");
        using var found = await Host.Client.SendAsync(search);
        var bundle = Parser.Deserialize<Bundle>(await found.Content.ReadAsStringAsync())!;
        var stored = (QuestionnaireResponse)Assert.Single(bundle.Entry).Resource!;
        Assert.Equal("Patient/" + patient, stored.Subject!.Reference);
        for (var i = 0; i < 9; i++)
        {
            var item = stored.Item.Single(it => it.LinkId == $"phq9-{i + 1}");
            Assert.Equal(Answers[answers[i]], ((Coding)Assert.Single(item.Answer).Value!).Code);
        }

        var total = stored.Item.Single(it => it.LinkId == "phq9-total");
        Assert.Equal(8, ((Integer)Assert.Single(total.Answer).Value!).Value);

        // The link's one response is used (410 as before): the page has no form any more, but stays the patient's
        // preferences page.
        var again = await BrowseAsync(new { url = link.Url.ToString() });
        Assert.Equal(410, again.GetProperty("status").GetInt32());
        Assert.Equal("answered", again.GetProperty("mode").GetString());
        Assert.Equal("We already have your answers", again.GetProperty("title").GetString());
        Assert.DoesNotContain(patient, again.GetProperty("body").GetString(), StringComparison.Ordinal);
        using (var submitAgain = new StringContent("{}", System.Text.Encoding.UTF8, "application/fhir+json"))
        using (var refused = await Host.Client.PostAsync(new Uri($"/api/engage/{link.Token}/response", UriKind.Relative), submitAgain))
        {
            Assert.Equal(HttpStatusCode.Gone, refused.StatusCode);
        }
    }

    [Fact]
    public async Task A_spanish_speaking_patient_gets_the_form_and_the_page_in_spanish()
    {
        var patient = "pat-" + Guid.NewGuid().ToString("N")[..8];
        var link = await LinkApi.IssueAsync(Host, patient, "task-" + Guid.NewGuid().ToString("N")[..8]);

        var page = await BrowseAsync(new { url = link.Url.ToString(), locale = "es-ES", answers = AllZero });

        Assert.Equal("es", page.GetProperty("lang").GetString());
        var form = page.GetProperty("formText").GetString()!;
        Assert.Contains("Poco interés o placer en hacer cosas", form, StringComparison.Ordinal);
        Assert.Contains("Varios días", form, StringComparison.Ordinal);
        Assert.DoesNotContain("Little interest or pleasure", form, StringComparison.Ordinal);
        var done = page.GetProperty("doneText").GetString()!;
        Assert.Contains("Gracias", done, StringComparison.Ordinal);
        Assert.Contains("Su puntuación total: 0.", done, StringComparison.Ordinal);
        Assert.Contains("síntomas mínimos", done, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Answers_the_server_rejects_are_shown_next_to_the_form_and_nothing_is_stored()
    {
        var patient = "pat-" + Guid.NewGuid().ToString("N")[..8];
        var link = await LinkApi.IssueAsync(Host, patient, "task-" + Guid.NewGuid().ToString("N")[..8]);

        // Items 3 and 9 left unanswered: the renderer lets it through, the server's SDC validation does not.
        var page = await BrowseAsync(new { url = link.Url.ToString(), answers = ItemsThreeAndNineMissing });

        Assert.False(page.GetProperty("done").GetBoolean(), page.ToString());
        var errors = page.GetProperty("errorsText").GetString()!;
        Assert.Contains("Some answers need attention", errors, StringComparison.Ordinal);
        Assert.Contains("Trouble falling or staying asleep", errors, StringComparison.Ordinal);
        Assert.Contains("required item 'phq9-9' is missing", errors, StringComparison.Ordinal);
        Assert.Equal("engage-errors", page.GetProperty("focused").GetString());
        using var search = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/QuestionnaireResponse?patient={patient}");
        using var found = await Host.Client.SendAsync(search);
        Assert.Equal(0, Parser.Deserialize<Bundle>(await found.Content.ReadAsStringAsync())!.Total);
    }

    [Fact]
    public async Task The_page_has_a_strict_csp_and_its_static_files_are_ours_typed_and_long_cached()
    {
        var link = await LinkApi.IssueAsync(Host, "pat-" + Guid.NewGuid().ToString("N")[..8], "task-" + Guid.NewGuid().ToString("N")[..8]);
        var (status, html, response) = await LinkApi.PageAsync(Host, link.Token);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, status);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
            Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("http", csp, StringComparison.Ordinal);
        }

        var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"(/static/lforms/lhc-forms\\.js\\?v=[0-9a-f]+)\"").Groups[1].Value;
        Assert.NotEmpty(script);
        using var asset = await Host.Client.GetAsync(new Uri(script, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.Equal("text/javascript", asset.Content.Headers.ContentType!.MediaType);
        Assert.Equal("nosniff", asset.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("immutable", asset.Headers.CacheControl!.ToString(), StringComparison.Ordinal);

        foreach (var path in TraversalPaths)
        {
            using var traversal = await Host.Client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
        }
    }

    private static Task<JsonElement> BrowseAsync(object input) => BrowserScript.RunAsync("Page/engage-page.mjs", input);
}
