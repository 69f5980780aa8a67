using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Engagement.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// The EHR's FHIR server for intake tests: a Kestrel app on a free loopback port answering reads, vreads,
/// <c>Subscription/{id}</c>, <c>$events</c>, <c>$status</c> and an Encounter search. Every request path is recorded.
/// </summary>
public sealed class FakeFhirServer : IAsyncDisposable
{
    private readonly WebApplication app;

    public FakeFhirServer()
    {
        Port = TestEnvironment.FreeTcpPort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Port}");
        app = builder.Build();
        app.Use(async (context, next) =>
        {
            Requests.Enqueue(context.Request.Path + context.Request.QueryString);
            Authorizations.Enqueue($"{context.Request.Path} {context.Request.Headers.Authorization}");
            if (Down && context.Request.Path.StartsWithSegments("/fhir", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                return;
            }

            await next();
        });
        app.MapPost("/token", async (HttpRequest request) =>
        {
            // SMART Backend Services token endpoint: verify the client assertion with the registered public key.
            var form = await request.ReadFormAsync();
            var parts = form["client_assertion"].ToString().Split('.');
            var valid = form["grant_type"] == "client_credentials"
                && form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                && parts.Length == 3
                && SmartKey.VerifyData(System.Text.Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]), System.Security.Cryptography.HashAlgorithmName.SHA384, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            if (!valid)
            {
                return Results.Json(new { error = "invalid_client" }, statusCode: 400);
            }

            // An assertion is good once: the server keeps every jti it saw and refuses a replay, even of one it failed.
            var jti = JsonNode.Parse(FromBase64Url(parts[1]))?["jti"]?.GetValue<string>() ?? "";
            var replay = TokenJtis.Contains(jti);
            TokenJtis.Enqueue(jti);
            if (replay)
            {
                Interlocked.Increment(ref tokenReplays);
                return Results.Json(new { error = "invalid_grant", error_description = "assertion replayed" }, statusCode: 400);
            }

            return Interlocked.Decrement(ref tokenFailures) >= 0
                ? Results.Json(new { error = "temporarily_unavailable" }, statusCode: 503)
                : Results.Json(new { access_token = IssuedToken, token_type = "bearer", expires_in = 300, scope = form["scope"].ToString() });
        });
        app.MapGet("/fhir/Subscription/{id}/$events", (string id, long eventsSinceNumber, long eventsUntilNumber) =>
            EventsSupported ? Fhir(QueryEventBundle(id, eventsSinceNumber, eventsUntilNumber)) : Results.Text("{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"not-supported\"}]}", "application/fhir+json", statusCode: 404));
        app.MapGet("/fhir/Subscription/{id}/$status", (string id) => Fhir(StatusBundle(id)));
        app.MapGet("/fhir/Subscription/{id}", (string id) => Fhir(new JsonObject
        {
            ["resourceType"] = "Subscription",
            ["id"] = id,
            ["status"] = "active",
            ["reason"] = "test",
            ["criteria"] = "http://hl7.org/SubscriptionTopic/encounter-complete",
            ["channel"] = new JsonObject
            {
                ["extension"] = new JsonArray(new JsonObject
                {
                    ["url"] = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period",
                    ["valueUnsignedInt"] = HeartbeatSeconds,
                }),
                ["type"] = "rest-hook",
            },
        }));
        app.MapGet("/fhir/Encounter", () => Fhir(new JsonObject
        {
            ["resourceType"] = "Bundle",
            ["type"] = "searchset",
            ["entry"] = new JsonArray([.. SearchResults.Select(id => new JsonObject { ["resource"] = Encounter(id, "1"), ["search"] = new JsonObject { ["mode"] = "match" } })]),
        }));
        app.MapGet("/fhir/metadata", () => Fhir(new JsonObject
        {
            ["resourceType"] = "CapabilityStatement",
            ["status"] = "active",
            ["kind"] = "instance",
            ["fhirVersion"] = "4.0.1",
            ["format"] = new JsonArray("json"),
            ["rest"] = new JsonArray(new JsonObject
            {
                ["mode"] = "server",
                ["resource"] = new JsonArray([.. ServedTypes.Select(type => new JsonObject
                {
                    ["type"] = type,
                    ["interaction"] = Creatable.Contains(type)
                        ? new JsonArray(new JsonObject { ["code"] = "read" }, new JsonObject { ["code"] = "create" }, new JsonObject { ["code"] = "update" })
                        : Updatable.Contains(type)
                            ? new JsonArray(new JsonObject { ["code"] = "read" }, new JsonObject { ["code"] = "update" })
                            : new JsonArray(new JsonObject { ["code"] = "read" }),
                    ["conditionalCreate"] = Creatable.Contains(type),
                })]),
            }),
        }));
        app.MapPost("/fhir/{type}", async (string type, HttpRequest request) => await WriteAsync(type, null, request));
        app.MapPut("/fhir/{type}/{id}", async (string type, string id, HttpRequest request) => await WriteAsync(type, id, request));
        app.MapPut("/fhir/{type}", async (string type, HttpRequest request) => await WriteAsync(type, null, request));
        app.MapGet("/fhir/{type}/{id}", (string type, string id) => Read(type, id, null));
        app.MapGet("/fhir/{type}/{id}/_history/{vid}", (string type, string id, string vid) => Read(type, id, vid));
        app.StartAsync().GetAwaiter().GetResult();
    }

    public const string IssuedToken = "issued-access-token";

    public int Port { get; }

    /// <summary>The SMART client's key pair; the host gets the private key as configuration.</summary>
    public System.Security.Cryptography.RSA SmartKey { get; } = System.Security.Cryptography.RSA.Create(2048);

    public Uri TokenUrl => new($"http://127.0.0.1:{Port}/token");

    /// <summary>While true, every FHIR request (not the token endpoint) answers 500.</summary>
    public bool Down { get; set; }

    private int tokenFailures;
    private int tokenReplays;

    /// <summary>How many of the next valid token requests answer 503 (after the server has seen their assertion).</summary>
    public int TokenFailures { get => Volatile.Read(ref tokenFailures); set => Volatile.Write(ref tokenFailures, value); }

    /// <summary>The jti of every token request with a valid assertion, replays included.</summary>
    public ConcurrentQueue<string> TokenJtis { get; } = new();

    /// <summary>Token requests refused because their assertion's jti was seen before.</summary>
    public int TokenReplays => Volatile.Read(ref tokenReplays);

    /// <summary>"path Authorization-header" of every request.</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    private static byte[] FromBase64Url(string s)
    {
        var b = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(b.PadRight(b.Length + ((4 - (b.Length % 4)) % 4), '='));
    }

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/fhir");

    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>False: <c>$events</c> answers 404, as on servers without it.</summary>
    public bool EventsSupported { get; set; } = true;

    /// <summary>Event numbers <c>$events</c> leaves out of its answer, as a server that no longer has them (the keys).</summary>
    public ConcurrentDictionary<long, bool> LostEvents { get; } = new();

    public int HeartbeatSeconds { get; set; } = 3600;

    /// <summary>Encounter ids the search returns.</summary>
    public IList<string> SearchResults { get; } = new List<string>();

    /// <summary>Encounter ids that read as 410 Gone.</summary>
    public ISet<string> Deleted { get; } = new HashSet<string>();

    public static JsonObject Encounter(string id, string version) => new()
    {
        ["resourceType"] = "Encounter",
        ["id"] = id,
        ["meta"] = new JsonObject { ["versionId"] = version },
        ["status"] = "finished",
        ["class"] = new JsonObject { ["system"] = "http://terminology.hl7.org/CodeSystem/v3-ActCode", ["code"] = "IMP" },
        ["subject"] = new JsonObject { ["reference"] = "Patient/pat-77", ["display"] = "Rosalind Quennell-Marsh" },
    };

    /// <summary>Resources served as they are ("Patient/p1" → JSON), besides the generated Encounters.</summary>
    public ConcurrentDictionary<string, string> Resources { get; } = new(StringComparer.Ordinal);

    /// <summary>What was written to this server ("Task/ehr-3" → the resource as last written).</summary>
    public ConcurrentDictionary<string, JsonObject> Written { get; } = new(StringComparer.Ordinal);

    /// <summary>"METHOD path status" of every write (POST, PUT), in arrival order.</summary>
    public ConcurrentQueue<string> Writes { get; } = new();

    private int failNextWrites;

    /// <summary>The next this many writes answer 503 (a server having a bad moment).</summary>
    public int FailNextWrites
    {
        get => Volatile.Read(ref failNextWrites);
        set => Volatile.Write(ref failNextWrites, value);
    }

    /// <summary>Resource types the CapabilityStatement offers conditional create for (<c>GET /fhir/metadata</c>).</summary>
    public ISet<string> Creatable { get; } = new HashSet<string>(ServedTypes.Skip(2).Where(t => t != "Appointment"), StringComparer.Ordinal);

    /// <summary>
    /// Types of the EHR's own (served from <see cref="Resources"/>) the CapabilityStatement offers <c>update</c> for.
    /// An update of one is version-checked: <c>If-Match</c> must be sent (else 428) and name its current
    /// <c>meta.versionId</c> (else 412), and the new version is served from then on.
    /// </summary>
    public ISet<string> Updatable { get; } = new HashSet<string>(StringComparer.Ordinal) { "Patient" };

    private int conflictNextUpdates;

    /// <summary>
    /// The next this many version-checked updates find that someone else changed the resource first: the served
    /// resource gets <c>"active": true</c> and a new version, and the update answers 412.
    /// </summary>
    public int ConflictNextUpdates
    {
        get => Volatile.Read(ref conflictNextUpdates);
        set => Volatile.Write(ref conflictNextUpdates, value);
    }

    private static readonly string[] ServedTypes = ["Patient", "Encounter", "CarePlan", "Task", "Communication", "QuestionnaireResponse", "Observation", "Flag", "Consent", "Appointment"];

    /// <summary>True: every write answers 403, as on a server that does not let us write.</summary>
    public bool RefuseWrites { get; set; }

    private int writeIds;

    /// <summary>
    /// <see cref="Written"/> and <see cref="Writes"/> as of one instant (a write changes both under one lock): read one
    /// after the other while a run still writes, they can disagree by a write that landed in between.
    /// </summary>
    public (KeyValuePair<string, JsonObject>[] Written, string[] Writes) Snapshot()
    {
        lock (Written)
        {
            return ([.. Written], [.. Writes]);
        }
    }

    /// <summary>Resources written of a type, by EHR id.</summary>
    public IReadOnlyList<(string Id, JsonObject Resource)> WrittenOf(string type) =>
        [.. Written.Where(w => w.Key.StartsWith(type + "/", StringComparison.Ordinal)).Select(w => (w.Key[(type.Length + 1)..], w.Value))];

    /// <summary>
    /// POST (with <c>If-None-Exist: identifier=system|value</c> honoured), PUT by id, and conditional PUT by identifier,
    /// as a FHIR server that accepts writes answers them: 201 with a Location for a new resource, 200 for a match.
    /// </summary>
    private async Task<IResult> WriteAsync(string type, string? id, HttpRequest request)
    {
        IResult Answer(int status, string? location = null)
        {
            Writes.Enqueue($"{request.Method} {request.Path}{request.QueryString} {status}");
            if (location is not null)
            {
                request.HttpContext.Response.Headers.Location = location;
            }

            return status >= 400
                ? Results.Text("{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"forbidden\"}]}", "application/fhir+json", statusCode: status)
                : Results.Text(string.Empty, "application/fhir+json", statusCode: status);
        }

        if (RefuseWrites)
        {
            return Answer(403);
        }

        if (Interlocked.Decrement(ref failNextWrites) >= 0)
        {
            return Answer(503);
        }

        var body = JsonNode.Parse(await new StreamReader(request.Body).ReadToEndAsync())!.AsObject();
        var condition = request.Method == "POST" ? request.Headers["If-None-Exist"].ToString() : request.QueryString.HasValue ? request.QueryString.Value![1..] : null;
        lock (Written)
        {
            if (id is not null && Resources.TryGetValue($"{type}/{id}", out var own))
            {
                // An update of the EHR's own resource: version-checked.
                var current = JsonNode.Parse(own)!.AsObject();
                var version = int.Parse(current["meta"]?["versionId"]?.GetValue<string>() ?? "1", CultureInfo.InvariantCulture);
                if (Interlocked.Decrement(ref conflictNextUpdates) >= 0)
                {
                    current["active"] = true;
                    current["meta"] = new JsonObject { ["versionId"] = (++version).ToString(CultureInfo.InvariantCulture) };
                    Resources[$"{type}/{id}"] = current.ToJsonString();
                    return Answer(412);
                }

                var ifMatch = request.Headers.IfMatch.ToString();
                if (ifMatch.Length == 0)
                {
                    return Answer(428); // this EHR takes version-aware updates only
                }

                if (ifMatch != $"W/\"{version}\"")
                {
                    return Answer(412);
                }

                body["id"] = id;
                body["meta"] = new JsonObject { ["versionId"] = (version + 1).ToString(CultureInfo.InvariantCulture) };
                Resources[$"{type}/{id}"] = body.ToJsonString();
                Written[$"{type}/{id}"] = body;
                return Answer(200);
            }

            if (id is null && !string.IsNullOrEmpty(condition))
            {
                var wanted = Uri.UnescapeDataString(condition.Split('=', 2)[1]);
                var match = WrittenOf(type).Where(w => Identifiers(w.Resource).Contains(wanted)).Select(w => w.Id).ToList();
                if (match.Count > 1)
                {
                    return Answer(412);
                }

                if (match.Count == 1)
                {
                    if (request.Method == "PUT")
                    {
                        body["id"] = match[0];
                        Written[$"{type}/{match[0]}"] = body;
                    }

                    return Answer(200, $"{BaseUrl}/{type}/{match[0]}/_history/1");
                }
            }

            var created = id is null;
            id ??= "ehr-" + Interlocked.Increment(ref writeIds).ToString(CultureInfo.InvariantCulture);
            created |= !Written.ContainsKey($"{type}/{id}");
            body["id"] = id;
            Written[$"{type}/{id}"] = body;
            return Answer(created ? 201 : 200, $"{BaseUrl}/{type}/{id}/_history/1");
        }
    }

    private static HashSet<string> Identifiers(JsonObject resource) =>
        resource["identifier"] switch
        {
            JsonArray list => [.. list.OfType<JsonObject>().Select(i => $"{i["system"]}|{i["value"]}")],
            JsonObject one => [$"{one["system"]}|{one["value"]}"],
            _ => [],
        };

    private IResult Read(string type, string id, string? version)
    {
        if (Resources.TryGetValue($"{type}/{id}", out var stored))
        {
            return Results.Text(stored, "application/fhir+json");
        }

        if (Deleted.Contains(id))
        {
            return Results.Text("{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"deleted\"}]}", "application/fhir+json", statusCode: 410);
        }

        if (type != "Encounter")
        {
            return Results.Text("{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"not-found\"}]}", "application/fhir+json", statusCode: 404);
        }

        return Fhir(Encounter(id, version ?? "1"));
    }

    /// <summary>Event n of any subscription is Encounter <c>enc-ev{n}</c> version 1, full-resource.</summary>
    private JsonObject QueryEventBundle(string subscriptionId, long from, long to)
    {
        var parameters = StatusParameters(subscriptionId, "query-event", to);
        var entries = new JsonArray(new JsonObject { ["fullUrl"] = "urn:uuid:" + Guid.NewGuid(), ["resource"] = parameters });
        for (var n = from; n <= to; n++)
        {
            if (LostEvents.ContainsKey(n))
            {
                continue;
            }

            var id = "enc-ev" + n.ToString(CultureInfo.InvariantCulture);
            ((JsonArray)parameters["parameter"]!).Add(new JsonObject
            {
                ["name"] = "notification-event",
                ["part"] = new JsonArray(
                    new JsonObject { ["name"] = "event-number", ["valueString"] = n.ToString(CultureInfo.InvariantCulture) },
                    new JsonObject { ["name"] = "focus", ["valueReference"] = new JsonObject { ["reference"] = "Encounter/" + id } }),
            });
            entries.Add(new JsonObject { ["fullUrl"] = "http://127.0.0.1/fhir/Encounter/" + id, ["resource"] = Encounter(id, "1") });
        }

        return new JsonObject { ["resourceType"] = "Bundle", ["type"] = "history", ["entry"] = entries };
    }

    private static JsonObject StatusBundle(string subscriptionId) => new()
    {
        ["resourceType"] = "Bundle",
        ["type"] = "history",
        ["entry"] = new JsonArray(new JsonObject { ["fullUrl"] = "urn:uuid:" + Guid.NewGuid(), ["resource"] = StatusParameters(subscriptionId, "query-status", 0) }),
    };

    private static JsonObject StatusParameters(string subscriptionId, string type, long since) => new()
    {
        ["resourceType"] = "Parameters",
        ["parameter"] = new JsonArray(
            new JsonObject { ["name"] = "subscription", ["valueReference"] = new JsonObject { ["reference"] = "Subscription/" + subscriptionId } },
            new JsonObject { ["name"] = "status", ["valueCode"] = "active" },
            new JsonObject { ["name"] = "type", ["valueCode"] = type },
            new JsonObject { ["name"] = "events-since-subscription-start", ["valueString"] = since.ToString(CultureInfo.InvariantCulture) }),
    };

    private static IResult Fhir(JsonObject body) => Results.Text(body.ToJsonString(), "application/fhir+json");

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        SmartKey.Dispose();
    }
}
