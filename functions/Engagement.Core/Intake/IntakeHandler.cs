using System.Globalization;
using Azure;
using Engagement.Http;
using Engagement.Security;
using Engagement.Telemetry;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Intake;

/// <summary>
/// The intake routes. Each one authenticates, reads within limits, validates, stores an inbox row and only then answers
/// 2xx; a storage failure answers 503 so the sender retries. Processing happens later (queue, sweeper).
/// </summary>
public sealed class IntakeHandler(
    InboundGate gate,
    InboxStore inbox,
    IntakeQueue queue,
    SubscriptionStateStore states,
    SourceRegistry sources,
    AdminKeyAuthorizer admin,
    IOptionsMonitor<IntakeOptions> options,
    TimeProvider time,
    ILogger<IntakeHandler> logger)
{
    /// <summary><c>POST /api/notifications/{source}</c>: a topic-based notification Bundle, or an empty rest-hook ping.</summary>
    public async Task<IResult> PostNotificationAsync(HttpRequest request, string source, CancellationToken cancellationToken)
    {
        var (inbound, refusal) = await gate.ReceiveAsync(request, source, InboundGate.FhirMediaTypes, cancellationToken);
        if (inbound is null)
        {
            return Rejected(source, refusal!);
        }

        var now = time.GetUtcNow();
        if (inbound.Body.Length == 0)
        {
            var pingKey = IntakeKeys.For("ping", source.ToLowerInvariant(), now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
            return await AcceptAsync(new InboxItem(source, pingKey, InboxKinds.Ping, now, false, null, null, null, null, null, null), inbound.Body, "ping", cancellationToken);
        }

        var notification = NotificationParser.Parse(inbound.Body, options.CurrentValue.MaxJsonDepth, out var problem);
        if (notification is null)
        {
            return Rejected(source, problem!.ToResult());
        }

        var key = IntakeKeys.For("notification", source.ToLowerInvariant(), notification.DedupeKey(() => IntakeKeys.ForBytes(inbound.Body)));
        logger.LogInformation(
            "Notification {NotificationType} from {Source} for {Subscription}, events {EventNumbers}",
            SubscriptionNotification.TypeCode(notification.Type), source, notification.Subscription,
            string.Join(',', notification.Events.Select(e => e.Number)));
        return await AcceptAsync(
            new InboxItem(source, key, InboxKinds.Notification, now, false, null, null, null, SubscriptionNotification.TypeCode(notification.Type), null, null),
            inbound.Body, "subscription", cancellationToken);
    }

    /// <summary><c>PUT /api/notifications/{source}/{type}/{id}</c>: classic rest-hook with the resource (HAPI style; empty = id-only).</summary>
    public async Task<IResult> PutResourceAsync(HttpRequest request, string source, string type, string id, CancellationToken cancellationToken)
    {
        var (inbound, refusal) = await gate.ReceiveAsync(request, source, InboundGate.FhirMediaTypes, cancellationToken);
        if (inbound is null)
        {
            return Rejected(source, refusal!);
        }

        if (ValidateTypeAndId(type, id) is { } invalid)
        {
            return Rejected(source, invalid.ToResult());
        }

        var now = time.GetUtcNow();
        string? version = null;
        string discriminator;
        if (inbound.Body.Length > 0)
        {
            var resource = NotificationParser.ParseResource(inbound.Body, options.CurrentValue.MaxJsonDepth, out var problem);
            if (resource is null)
            {
                return Rejected(source, problem!.ToResult());
            }

            if (resource.TypeName != type || (resource.Id is not null && resource.Id != id))
            {
                return Rejected(source, IntakeProblem.Invalid($"The body is a {resource.TypeName} with another id; the URL names {type}/{id}.").ToResult());
            }

            version = resource.Meta?.VersionId;
            discriminator = version is not null ? "v:" + version : "sha:" + IntakeKeys.ForBytes(inbound.Body);
        }
        else
        {
            discriminator = "fetch:" + now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        }

        var key = IntakeKeys.For("put", source.ToLowerInvariant(), type, id, discriminator);
        logger.LogInformation("Rest-hook PUT from {Source}: {ResourceType}/{ResourceId} version {VersionId}", source, type, id, version);
        return await AcceptAsync(
            new InboxItem(source, key, InboxKinds.RestHookPut, now, false, type, id, version, nameof(ClinicalEventKind.Updated), null, null),
            inbound.Body, "rest-hook", cancellationToken);
    }

    /// <summary><c>DELETE /api/notifications/{source}/{type}/{id}</c>: classic rest-hook deletion.</summary>
    public async Task<IResult> DeleteResourceAsync(HttpRequest request, string source, string type, string id, CancellationToken cancellationToken)
    {
        var (inbound, refusal) = await gate.ReceiveAsync(request, source, InboundGate.FhirMediaTypes, cancellationToken);
        if (inbound is null)
        {
            return Rejected(source, refusal!);
        }

        if (ValidateTypeAndId(type, id) is { } invalid)
        {
            return Rejected(source, invalid.ToResult());
        }

        var key = IntakeKeys.For("delete", source.ToLowerInvariant(), type, id);
        logger.LogInformation("Rest-hook DELETE from {Source}: {ResourceType}/{ResourceId}", source, type, id);
        return await AcceptAsync(
            new InboxItem(source, key, InboxKinds.RestHookDelete, time.GetUtcNow(), false, type, id, null, nameof(ClinicalEventKind.Deleted), null, null),
            [], "rest-hook", cancellationToken);
    }

    /// <summary><c>POST /api/events/{source}</c>: Azure Health Data Services events (Event Grid schema or CloudEvents 1.0).</summary>
    public async Task<IResult> PostEventsAsync(HttpRequest request, string source, CancellationToken cancellationToken)
    {
        var (inbound, refusal) = await gate.ReceiveAsync(request, source, InboundGate.EventMediaTypes, cancellationToken);
        if (inbound is null)
        {
            return Rejected(source, refusal!);
        }

        var delivery = EventGridParser.Parse(inbound.Body, options.CurrentValue.MaxJsonDepth, out var problem);
        if (delivery is null)
        {
            return Rejected(source, problem!.ToResult());
        }

        if (delivery.ValidationCode is { } code)
        {
            logger.LogInformation("Event Grid subscription validation for {Source}", source);
            return Results.Json(new Dictionary<string, string> { ["validationResponse"] = code });
        }

        var now = time.GetUtcNow();
        var added = 0;
        foreach (var e in delivery.Events)
        {
            var key = IntakeKeys.For("event-grid", source.ToLowerInvariant(), e.Id);
            var item = new InboxItem(source, key, InboxKinds.EventGrid, now, false, e.ResourceType, e.ResourceId, e.VersionId, e.Kind.ToString(), null, null);
            var stored = await TryStoreAsync(item, e.Raw, "event-grid", cancellationToken);
            if (stored is null)
            {
                return Unavailable(source);
            }

            added += stored.Value ? 1 : 0;
            logger.LogInformation("Event Grid event from {Source}: {ResourceType}/{ResourceId} version {VersionId} {Kind}", source, e.ResourceType, e.ResourceId, e.VersionId, e.Kind);
        }

        return Accepted($"{added} of {delivery.Events.Count} events stored ({delivery.Events.Count - added} already received).");
    }

    /// <summary><c>OPTIONS /api/events/{source}</c>: the CloudEvents webhook abuse-protection handshake.</summary>
    public IResult OptionsEvents(HttpRequest request, string source)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (sources.Find(source) is null)
        {
            return FhirResults.NotFound($"Unknown source '{InboundGate.Truncate(source)}'.");
        }

        var origin = request.Headers["WebHook-Request-Origin"].ToString();
        if (origin.Length == 0)
        {
            return FhirResults.BadRequest("The CloudEvents handshake needs a WebHook-Request-Origin header.");
        }

        request.HttpContext.Response.Headers["WebHook-Allowed-Origin"] = origin;
        request.HttpContext.Response.Headers["WebHook-Allowed-Rate"] = "*";
        request.HttpContext.Response.Headers.Allow = "POST, OPTIONS";
        logger.LogInformation("CloudEvents handshake for {Source}", source);
        return Results.Ok();
    }

    /// <summary><c>GET /api/subscriptions/{source}</c> (admin): each subscription's state as JSON.</summary>
    public async Task<IResult> GetSubscriptionsAsync(HttpRequest request, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (admin.Challenge(request) is { } denied)
        {
            return denied;
        }

        if (sources.Find(source) is null)
        {
            return FhirResults.NotFound($"Unknown source '{InboundGate.Truncate(source)}'.");
        }

        try
        {
            var now = time.GetUtcNow();
            var list = await states.ListAsync(source, cancellationToken);
            return Results.Json(new SubscriptionsView(source, [.. list.Select(s => SubscriptionView.From(s, now))]));
        }
        catch (RequestFailedException)
        {
            return FhirResults.Unavailable("Storage is not available; try again later.");
        }
    }

    private static IntakeProblem? ValidateTypeAndId(string type, string id) =>
        !ModelInfo.IsKnownResource(type) ? IntakeProblem.Malformed($"'{InboundGate.Truncate(type)}' is not a FHIR R4 resource type.")
        : !FhirIds.IsValid(id) ? IntakeProblem.Malformed("The id in the URL is not a valid FHIR id.")
        : null;

    private async Task<IResult> AcceptAsync(InboxItem item, byte[] body, string channel, CancellationToken cancellationToken)
    {
        var stored = await TryStoreAsync(item, body, channel, cancellationToken);
        return stored switch
        {
            null => Unavailable(item.Source),
            true => Accepted("Stored; it will be processed."),
            false => Accepted("Already received; nothing more to do."),
        };
    }

    /// <summary>True when stored, false for a duplicate, null when storage failed.</summary>
    private async Task<bool?> TryStoreAsync(InboxItem item, byte[] body, string channel, CancellationToken cancellationToken)
    {
        bool added;
        try
        {
            added = await inbox.AddAsync(item, body, cancellationToken);
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or IOException or AggregateException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("Inbox write for {Source} failed ({ExceptionType} {StorageStatus} {StorageErrorCode}); answering 503.",
                item.Source, ex.GetType().Name, (ex as RequestFailedException)?.Status, (ex as RequestFailedException)?.ErrorCode);
            return null;
        }

        if (added)
        {
            EngagementTelemetry.EventsAccepted.Add(1, new("source", item.Source), new("channel", channel));
            // Latency shortcut only: the row is what makes it durable; the sweeper re-drives a row whose message was lost.
            queue.Post(new IntakeWorkItem(item.Source, item.Key, EngagementTelemetry.CurrentTraceParent, InboxStore.AsStored(item, body)));
        }

        return added;
    }

    private IResult Rejected(string source, IResult refusal)
    {
        var status = refusal is IStatusCodeHttpResult { StatusCode: { } code } ? code : 400;
        EngagementTelemetry.EventsRejected.Add(1, new("source", source), new("reason", status));
        logger.LogInformation("Delivery from {Source} refused with {StatusCode}", source, status);
        return refusal;
    }

    private static IResult Unavailable(string source)
    {
        EngagementTelemetry.EventsRejected.Add(1, new("source", source), new("reason", 503));
        return FhirResults.Unavailable("The notification could not be stored; try again later.");
    }

    private static IResult Accepted(string diagnostics) => FhirResults.Outcome(
        StatusCodes.Status200OK, OperationOutcome.IssueType.Informational, diagnostics, OperationOutcome.IssueSeverity.Information);
}
