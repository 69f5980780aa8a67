using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Intake;
using Engagement.Integration.Tests.Links;

namespace Engagement.Reliability;

/// <summary>
/// Structure-aware mutations of real notification Bundles, Event Grid events, QuestionnaireResponses and
/// Questionnaires, plus truncations and random bytes, against the notification, event, engagement and FHIR routes:
/// never a 5xx, the host stays up, and nothing is stored for a refused body.
/// </summary>
public sealed class FuzzTests
{
    private const string QuestionnaireResponseSeed = """
        {"resourceType":"QuestionnaireResponse","questionnaire":"http://engagement-functions.org/fhir/Questionnaire/phq-9","status":"completed",
         "item":[{"linkId":"phq9-1","answer":[{"valueCoding":{"system":"http://loinc.org","code":"LA6568-5"}}]},
                 {"linkId":"phq9-2","answer":[{"valueCoding":{"system":"http://loinc.org","code":"LA6569-3"}}]},
                 {"linkId":"comment","answer":[{"valueString":"free text"}]}]}
        """;

    private const string QuestionnaireSeed = """
        {"resourceType":"Questionnaire","url":"http://example.org/fhir/Questionnaire/fuzz","version":"1","status":"active","title":"Fuzz",
         "item":[{"linkId":"q1","text":"How are you?","type":"choice","answerOption":[{"valueCoding":{"system":"http://example.org","code":"a"}}]},
                 {"linkId":"q2","text":"Anything else?","type":"string","required":true}]}
        """;

    // Its first run found 503s for bad input, since fixed in the product: a JSON array where a resource was expected
    // (Firely throws InvalidOperationException), invalid UTF-8 inside strings (failed only when a value was read),
    // and a subscription-status Parameters with a repeated single parameter (Parameters.GetSingle threw).
    [Fact]
    public async Task Ten_thousand_mutated_bodies_get_no_5xx_leave_the_host_up_and_store_nothing_when_refused()
    {
        var total = ReliabilityRun.Size(400, 10_000);
        await using var h = new ReliabilityHarness(secondsPerDay: 86400, configure: s =>
        {
            s["Engagement__Sources__ehr1__InboundSecret"] = IntakeFixture.Secret;
        });
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var link = await LinkApi.IssueAsync(h.Host, "fz-patient-" + run, "fz-task-" + run);

        var notificationSeeds = new[]
        {
            ReliabilityHarness.Notification("sub-fz-" + run, 1, "fz-p-" + run, "fz-e-" + run),
            Notifications.Fixture("notification-full-resource.json"), Notifications.Fixture("notification-id-only.json"),
            Notifications.Fixture("notification-handshake.json"), Notifications.Fixture("notification-heartbeat.json"),
            Notifications.Fixture("notification-query-status.json"), Notifications.Fixture("notification-empty.json"),
        };
        var eventSeeds = new[] { Notifications.Fixture("eventgrid-encounter-updated.json"), Notifications.Fixture("cloudevent-encounter-created.json") };
        var random = new Random(20261124);
        var routes = new (string Name, HttpMethod Method, Func<int, string> Path, string[] Seeds, Action<HttpRequestMessage> Auth)[]
        {
            ("notifications", HttpMethod.Post, _ => "/api/notifications/" + ReliabilityHarness.Source, notificationSeeds, r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ReliabilityHarness.Secret)),
            ("events", HttpMethod.Post, _ => "/api/events/ehr1", eventSeeds, r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", IntakeFixture.Secret)),
            ("engage response", HttpMethod.Post, _ => $"/api/engage/{link.Token}/response", [QuestionnaireResponseSeed], _ => { }),
            ("fhir PUT Questionnaire", HttpMethod.Put, i => $"/api/fhir/Questionnaire/fz-{run}-{i}", [QuestionnaireSeed], r => r.Headers.Add("X-Admin-Key", StandaloneHost.AdminKey)),
        };
        var work = Enumerable.Range(0, total).Select(i =>
        {
            var route = routes[i % routes.Length];
            var seed = route.Seeds[random.Next(route.Seeds.Length)];
            return (Index: i, Route: route, Body: Fuzzer.Mutate(seed, random));
        }).ToList();

        var statuses = new ConcurrentDictionary<(string Route, int Status), int>();
        var fiveHundreds = new ConcurrentBag<string>();
        var acceptedQuestionnaires = new ConcurrentBag<string>();
        var connectionFailures = 0;
        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, ct) =>
        {
            using var request = new HttpRequestMessage(item.Route.Method, new Uri(item.Route.Path(item.Index), UriKind.Relative))
            {
                Content = new ByteArrayContent(item.Body),
            };
            // Event Grid posts application/json (CloudEvents: application/cloudevents+json); FHIR routes take application/fhir+json.
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(item.Route.Name == "events" ? "application/json" : "application/fhir+json");
            item.Route.Auth(request);
            try
            {
                using var response = await h.Host.Client.SendAsync(request, ct);
                var status = (int)response.StatusCode;
                statuses.AddOrUpdate((item.Route.Name, status), 1, (_, n) => n + 1);
                if (status >= 500)
                {
                    fiveHundreds.Add($"{item.Route.Name} {status}: {Encoding.UTF8.GetString(item.Body)[..Math.Min(300, item.Body.Length)]}");
                }
                else if (status < 300 && item.Route.Name == "fhir PUT Questionnaire")
                {
                    acceptedQuestionnaires.Add($"fz-{run}-{item.Index}");
                }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref connectionFailures);
            }
        });

        using var health = await h.Host.Client.GetAsync(new Uri("/api/health", UriKind.Relative));
        var storedQuestionnaires = new List<string>();
        await foreach (var row in new TableClient(h.Storage, "FhirResources").QueryAsync<TableEntity>(e => e.PartitionKey == "Questionnaire"))
        {
            if (row.RowKey.StartsWith($"fz-{run}-", StringComparison.Ordinal))
            {
                storedQuestionnaires.Add(row.RowKey);
            }
        }

        var inboxRows = await new TableClient(h.Storage, h.Prefix + "Inbox").QueryAsync<TableEntity>().CountAsync();
        var acceptedIntake = statuses.Where(s => s.Key.Route is "notifications" or "events" && s.Key.Status < 300).Sum(s => s.Value);
        ReliabilityRun.Record("Bad input (fuzzer)", [
            ("bodies sent", total),
            ("answers by route", string.Join("; ", statuses.OrderBy(s => s.Key.Route).ThenBy(s => s.Key.Status).Select(s => $"{s.Key.Route} {s.Key.Status}×{s.Value}"))),
            ("5xx answers", fiveHundreds.Count),
            ("connection failures", connectionFailures),
            ("host healthy afterwards", health.StatusCode == HttpStatusCode.OK && h.Host.IsRunning),
            ("Questionnaires accepted / stored", $"{acceptedQuestionnaires.Count} / {storedQuestionnaires.Count}"),
            ("intake bodies accepted (2xx) / inbox rows", $"{acceptedIntake} / {inboxRows}"),
        ]);

        Assert.True(fiveHundreds.IsEmpty, string.Join('\n', fiveHundreds.Take(5).Concat(Failures(h.Host.Output))));
        Assert.Equal(0, connectionFailures);
        Assert.True(h.Host.IsRunning);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(acceptedQuestionnaires.Order(StringComparer.Ordinal), storedQuestionnaires.Order(StringComparer.Ordinal));
        Assert.InRange(inboxRows, 0, acceptedIntake); // refused bodies add no inbox row (duplicates of accepted ones add none either)
    }

    /// <summary>The host's unhandled-exception reports (each with the first lines of its stack), for the failure message.</summary>
    private static IEnumerable<string> Failures(IReadOnlyCollection<string> output)
    {
        var lines = output.ToList();
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].StartsWith("warn:", StringComparison.Ordinal) && i + 1 < lines.Count && lines[i + 1].Contains("answering 503", StringComparison.Ordinal)
                && distinct.Add(lines[i + 1]))
            {
                yield return lines[i + 1]; // a storage write refused: which exception and storage error
            }

            if (lines[i].StartsWith("fail:", StringComparison.Ordinal) && i + 2 < lines.Count && distinct.Add(lines[i + 2]))
            {
                foreach (var line in lines.Skip(i).Take(14))
                {
                    yield return line;
                }
            }
        }
    }
}

/// <summary>Mutations of a JSON seed: structural edits at a random node, truncation, or random bytes.</summary>
public static class Fuzzer
{
    public static byte[] Mutate(string seed, Random random)
    {
        switch (random.Next(10))
        {
            case 0:
                var bytes = new byte[random.Next(0, 2048)];
                random.NextBytes(bytes);
                return bytes;
            case 1:
                var raw = Encoding.UTF8.GetBytes(seed);
                return raw[..random.Next(raw.Length)];
            case 2:
                var flipped = Encoding.UTF8.GetBytes(seed);
                for (var k = 0; k < 1 + random.Next(8); k++)
                {
                    flipped[random.Next(flipped.Length)] = (byte)random.Next(256);
                }

                return flipped;
        }

        JsonNode? root = JsonNode.Parse(seed)!;
        for (var k = 0; k < 1 + random.Next(3) && root is not null; k++)
        {
            root = MutateOnce(root, random);
        }

        return Encoding.UTF8.GetBytes(root?.ToJsonString() ?? "null");
    }

    private static JsonNode? MutateOnce(JsonNode root, Random random)
    {
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[random.Next(nodes.Count)];
        var replacement = Replacement(target, random);
        if (target.Parent is null)
        {
            return replacement;
        }

        switch (target.Parent)
        {
            case JsonObject parent:
                var name = target.GetPropertyName();
                if (random.Next(4) == 0)
                {
                    parent.Remove(name);
                }
                else
                {
                    parent[name] = replacement;
                }

                break;
            case JsonArray array:
                var index = target.GetElementIndex();
                if (random.Next(4) == 0)
                {
                    array.RemoveAt(index);
                }
                else if (random.Next(3) == 0)
                {
                    array.Add(target.DeepClone());
                }
                else
                {
                    array[index] = replacement;
                }

                break;
        }

        return root;
    }

    private static JsonNode? Replacement(JsonNode target, Random random) => random.Next(14) switch
    {
        0 => null,
        1 => JsonValue.Create(-1),
        2 => JsonValue.Create(long.MaxValue),
        3 => JsonValue.Create(1e308),
        4 => JsonValue.Create(""),
        5 => JsonValue.Create(new string('x', random.Next(1, 70_000))),
        6 => JsonValue.Create("\u0000\uFFFD<script>'\"%00"),
        7 => JsonValue.Create(true),
        8 => new JsonArray(),
        9 => new JsonObject(),
        10 => Deep(random.Next(10, 200)),
        11 => JsonValue.Create(random.Next(2) == 0 ? "Patient" : "Bundle"),
        12 => JsonValue.Create("-99999999999999999999"),
        _ => target.DeepClone() is JsonObject o ? WithExtra(o) : JsonValue.Create("2026-13-45T25:61:00Z"),
    };

    private static JsonNode Deep(int depth)
    {
        JsonNode node = new JsonObject();
        for (var i = 0; i < depth; i++)
        {
            node = new JsonArray(node);
        }

        return node;
    }

    private static JsonObject WithExtra(JsonObject o)
    {
        o["unknownElement"] = "surprise";
        return o;
    }

    private static void Collect(JsonNode node, List<JsonNode> nodes)
    {
        nodes.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
        }
    }
}
