using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Engagement.Integration.Tests.Smart;
using Engagement.Testing.Smart;

namespace Engagement.Reliability;

/// <summary>
/// Attacks through the public routes of one host: forged, expired, reused and revoked engagement links; SMART bearer
/// tokens that are expired, for another audience or issuer, signed with an unknown key, <c>alg: none</c>, missing the
/// scope or for another patient; admin routes without or with a wrong <c>X-Admin-Key</c>. Every attempt is refused with
/// the status that tells the caller what happened (401/403/410), nothing is stored or changed, and no body leaks a
/// patient or task id, a link id, the token or its claims, or a stack trace.
/// </summary>
public sealed class AttackTests
{
    private const string PatientScopes = "launch/patient openid fhirUser patient/QuestionnaireResponse.cru patient/Questionnaire.rs patient/Task.rs";

    // What a stack trace or an exception message looks like in a body.
    private static readonly string[] StackTraceMarkers = ["   at ", "Exception", "StackTrace", ".cs:line", "System."];

    [Fact]
    public async Task Forged_expired_reused_and_revoked_links_bad_tokens_and_missing_admin_keys_are_all_refused_without_detail()
    {
        var rounds = ReliabilityRun.Size(1, 20);
        await using var issuer = new TestSmartIssuer();
        var key = TestSigningKey.Rsa256("rsa-atk");
        issuer.AddKey(key);
        await issuer.StartAsync();
        await using var h = new ReliabilityHarness(configure: s =>
        {
            s["Engagement__Smart__Issuers__0__Issuer"] = issuer.Issuer;
            s["Engagement__Outbox__DispatchInterval"] = "1.00:00:00";
        });
        var audience = h.Host.BaseAddress.ToString().TrimEnd('/') + "/api/fhir";
        h.Host.Settings["Engagement__Smart__Issuers__0__Audience"] = audience;
        await h.Host.StartAsync();

        var answers = new Dictionary<string, Dictionary<HttpStatusCode, int>>(StringComparer.Ordinal);
        var leaks = new List<string>();
        var unexpected = new List<string>();
        var attempts = 0;

        async Task Expect(string kind, HttpRequestMessage request, HttpStatusCode expected, IEnumerable<string> secrets)
        {
            using (request)
            {
                using var response = await h.Host.Client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                attempts++;
                var byStatus = answers.TryGetValue(kind, out var d) ? d : answers[kind] = [];
                byStatus[response.StatusCode] = byStatus.GetValueOrDefault(response.StatusCode) + 1;
                if (response.StatusCode != expected)
                {
                    unexpected.Add($"{kind} {request.Method} {Describe(request)}: {(int)response.StatusCode}, expected {(int)expected}");
                }

                foreach (var secret in secrets.Concat(StackTraceMarkers).Where(s => s.Length > 0))
                {
                    if (body.Contains(secret, StringComparison.Ordinal))
                    {
                        leaks.Add($"{kind} {request.Method} {Describe(request)}: the body contains \"{(StackTraceMarkers.Contains(secret) ? secret : "<secret>")}\"");
                    }
                }
            }
        }

        for (var round = 0; round < rounds; round++)
        {
            var run = ReliabilityHarness.NewRun();

            // --- Engagement links ---------------------------------------------------------------------------------------
            var patient = $"pat-atk-{run}";
            var task = $"task-atk-{run}";
            await ReliabilityHarness.SeedTaskAsync(patient, task);
            var forgedFrom = await LinkApi.IssueAsync(h.Host, patient, task);
            var expired = await LinkApi.IssueAsync(h.Host, patient, task + "-e", lifetimeSeconds: 1);
            var revoked = await LinkApi.IssueAsync(h.Host, patient, task + "-r");
            var reused = await LinkApi.IssueAsync(h.Host, patient, task + "-u");
            Assert.Equal(HttpStatusCode.NoContent, await LinkApi.RevokeAsync(h.Host, revoked.LinkId));
            var (first, firstBody) = await h.SubmitResponseAsync(reused.Token, ReliabilityHarness.Phq9Response());
            Assert.True(first == HttpStatusCode.Created, firstBody);
            await Task.Delay(TimeSpan.FromSeconds(1.5)); // the 1-second link expires (a state to reach, not a measured time)

            var tampered = forgedFrom.Token[..^1] + (forgedFrom.Token[^1] == 'A' ? 'B' : 'A');
            var linkAttacks = new (string Kind, string Token, IssuedTestLink Link, HttpStatusCode Expected)[]
            {
                ("link forged (last character changed)", tampered, forgedFrom, HttpStatusCode.Unauthorized),
                ("link forged (made up)", "k1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", forgedFrom, HttpStatusCode.Unauthorized),
                ("link forged (unknown key id)", "k9" + forgedFrom.Token[2..], forgedFrom, HttpStatusCode.Unauthorized),
                ("link expired", expired.Token, expired, HttpStatusCode.Gone),
                ("link revoked", revoked.Token, revoked, HttpStatusCode.Gone),
                ("link reused (already submitted)", reused.Token, reused, HttpStatusCode.Gone),
            };
            foreach (var (kind, token, link, expected) in linkAttacks)
            {
                string[] secrets = [patient, task, link.LinkId, link.Token, token];
                await Expect(kind, new HttpRequestMessage(HttpMethod.Get, new Uri("/engage/" + token, UriKind.Relative)), expected, secrets);
                await Expect(kind, new HttpRequestMessage(HttpMethod.Get, new Uri("/api/engage/" + token, UriKind.Relative)), expected, secrets);
                await Expect(kind, new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/engage/{token}/response", UriKind.Relative))
                {
                    Content = new StringContent(ReliabilityHarness.Phq9Response(3), Encoding.UTF8, "application/fhir+json"),
                }, expected, secrets);
            }

            // Only the one legitimate submission was stored; the forged link's Task is still open.
            var responses = await h.ResourcesAsync("QuestionnaireResponse", new HashSet<string> { patient });
            Assert.Single(responses);
            Assert.Equal("ready", await h.TaskStatusAsync(task));

            // --- SMART bearer tokens on /api/fhir -----------------------------------------------------------------------
            var now = DateTimeOffset.UtcNow;
            var other = $"pat-atk-other-{run}";
            string Valid(string scope, string? who) => SmartTestTokens.Create(key, issuer.Issuer, audience, scope, who);
            var tokenAttacks = new (string Kind, string Token, HttpStatusCode Expected)[]
            {
                ("token expired", SmartTestTokens.Create(key, issuer.Issuer, audience, PatientScopes, patient, notBefore: now.AddHours(-2), expires: now.AddHours(-1)), HttpStatusCode.Unauthorized),
                ("token for another audience", SmartTestTokens.Create(key, issuer.Issuer, "https://other.example.org/fhir", PatientScopes, patient), HttpStatusCode.Unauthorized),
                ("token from another issuer", SmartTestTokens.Create(key, "http://127.0.0.1:1/other-issuer", audience, PatientScopes, patient), HttpStatusCode.Unauthorized),
                ("token signed with an unknown key", SmartTestTokens.Create(TestSigningKey.Rsa256("never-published-" + run), issuer.Issuer, audience, PatientScopes, patient), HttpStatusCode.Unauthorized),
                ("token alg none", SmartTestTokens.AlgNone(issuer.Issuer, audience, PatientScopes, patient), HttpStatusCode.Unauthorized),
                ("token HS256 keyed with the public key", SmartTestTokens.Hs256WithPublicKey(key, issuer.Issuer, audience, PatientScopes, patient), HttpStatusCode.Unauthorized),
                ("token missing the scope", Valid("launch/patient openid patient/Questionnaire.rs", patient), HttpStatusCode.Forbidden),
                ("token for another patient", Valid(PatientScopes, other), HttpStatusCode.Forbidden),
            };
            foreach (var (kind, token, expected) in tokenAttacks)
            {
                var parts = token.Split('.');
                string[] secrets = [patient, task, token, .. parts.Where(p => p.Length > 8), key.Kid, issuer.Issuer, audience, other];
                await Expect(kind, Bearer(HttpMethod.Get, $"/api/fhir/Task/{task}", token), expected, secrets);
                await Expect(kind, Bearer(HttpMethod.Get, $"/api/fhir/Task?patient={patient}", token), expected, secrets);
                var post = Bearer(HttpMethod.Post, "/api/fhir/QuestionnaireResponse", token);
                post.Content = new StringContent(QuestionnaireResponseFor(patient, task), Encoding.UTF8, "application/fhir+json");
                await Expect(kind, post, expected, secrets);
            }

            Assert.Single(await h.ResourcesAsync("QuestionnaireResponse", new HashSet<string> { patient }));
            Assert.Equal("ready", await h.TaskStatusAsync(task));

            // --- Admin routes without / with a wrong key --------------------------------------------------------------
            var adminRoutes = new (HttpMethod Method, string Path, string? Body)[]
            {
                (HttpMethod.Get, $"/api/followups?patient={patient}", null),
                (HttpMethod.Get, $"/api/followups/followup-{task}", null),
                (HttpMethod.Post, $"/api/followups/followup-{task}/cancel", null),
                (HttpMethod.Get, $"/api/subscriptions/{ReliabilityHarness.Source}", null),
                (HttpMethod.Get, $"/api/fhir/Task/{task}", null),
                (HttpMethod.Get, $"/api/fhir/QuestionnaireResponse?patient={patient}", null),
                (HttpMethod.Put, "/api/fhir/Questionnaire/atk-" + run, """{"resourceType":"Questionnaire","id":"atk-RUN","status":"active"}""".Replace("RUN", run, StringComparison.Ordinal)),
                (HttpMethod.Get, "/api/fhir/MeasureReport/$engagement", null),
                (HttpMethod.Get, "/api/metrics/engagement", null),
                (HttpMethod.Post, "/api/diagnostics/links", $$"""{"patientId":"{{patient}}","taskId":"{{task}}","questionnaire":"{{LinkApi.Questionnaire}}"}"""),
                (HttpMethod.Post, $"/api/diagnostics/links/{forgedFrom.LinkId}/revoke", null),
                (HttpMethod.Post, "/api/diagnostics/durable-probe", "{}"),
            };
            foreach (var (presented, kind) in new[] { ((string?)null, "admin route without a key"), ("not-the-admin-key", "admin route with a wrong key") })
            {
                foreach (var (method, path, body) in adminRoutes)
                {
                    var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
                    if (body is not null)
                    {
                        request.Content = new StringContent(body, Encoding.UTF8, "application/fhir+json");
                    }

                    if (presented is not null)
                    {
                        request.Headers.Add("X-Admin-Key", presented);
                    }

                    await Expect(kind, request, HttpStatusCode.Unauthorized, [patient, task, forgedFrom.LinkId, StandaloneHost.AdminKey]);
                }
            }

            // Nothing an admin route would have done happened: the link is not revoked, the Questionnaire not stored.
            var (page, _, pageResponse) = await LinkApi.PageAsync(h.Host, forgedFrom.Token);
            pageResponse.Dispose();
            Assert.Equal(HttpStatusCode.OK, page);
            using var check = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/fhir/Questionnaire/atk-" + run);
            using var checkResponse = await h.Host.Client.SendAsync(check);
            Assert.Equal(HttpStatusCode.NotFound, checkResponse.StatusCode);
        }

        ReliabilityRun.Record("Attacks", [
            ("rounds", rounds),
            ("attempts", attempts),
            .. answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => ((string, object))(a.Key, string.Join(", ", a.Value.Select(s => $"{(int)s.Key} × {s.Value}")))),
            ("answers other than the expected refusal", unexpected.Count),
            ("bodies leaking an id, the token, a claim or a stack trace", leaks.Count),
        ]);

        Assert.True(unexpected.Count == 0, string.Join('\n', unexpected));
        Assert.True(leaks.Count == 0, string.Join('\n', leaks));
        Assert.True(h.Host.IsRunning);
    }

    private static HttpRequestMessage Bearer(HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static string QuestionnaireResponseFor(string patient, string task)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(ReliabilityHarness.Phq9Response())!;
        node["subject"] = new System.Text.Json.Nodes.JsonObject { ["reference"] = "Patient/" + patient };
        node["basedOn"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["reference"] = "Task/" + task });
        return node.ToJsonString();
    }

    private static string Describe(HttpRequestMessage request)
    {
        // Never the token itself in a failure message: only the route's shape.
        var path = request.RequestUri!.OriginalString;
        return path.StartsWith("/engage/", StringComparison.Ordinal) || path.StartsWith("/api/engage/", StringComparison.Ordinal)
            ? path[..(path.IndexOf("engage/", StringComparison.Ordinal) + 7)] + "{token}" + (path.EndsWith("/response", StringComparison.Ordinal) ? "/response" : string.Empty)
            : path;
    }
}
