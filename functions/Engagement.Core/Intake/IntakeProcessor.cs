using System.Diagnostics;
using System.Globalization;
using System.Net;
using Engagement.Http;
using Engagement.Telemetry;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// Turns one acknowledged inbox row into journaled, routed <see cref="ClinicalEvent"/>s and keeps each subscription's
/// state gap-free. Idempotent: it may run twice for the same row (queue redelivery, the sweeper, a crash before the
/// row was marked processed); routing is idempotent (deterministic ids), and each event is journaled once it is routed.
/// </summary>
public sealed class IntakeProcessor(
    InboxStore inbox,
    EventJournal journal,
    SubscriptionStateStore states,
    IntakeBacklog backlog,
    SourceRegistry sources,
    SourceFhirClients fhirClients,
    IEventRouter router,
    IOptionsMonitor<IntakeOptions> options,
    TimeProvider time,
    ILogger<IntakeProcessor> logger)
{
    public const string HeartbeatPeriodExtension = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period";

    /// <summary>Processes a queue message's rows; the first failure fails the message (rows already processed are skipped on retry).</summary>
    public static async System.Threading.Tasks.Task ProcessAllAsync(IntakeProcessor processor, IReadOnlyList<IntakeWorkItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(processor);
        ArgumentNullException.ThrowIfNull(items);
        var failures = new List<Exception>();
        foreach (var item in items)
        {
            try
            {
                await processor.ProcessAsync(item, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failures.Add(ex);
            }
        }

        if (failures.Count > 0)
        {
            throw new AggregateException(failures);
        }
    }

    /// <summary>
    /// Processes the row unless it is gone or already processed. True when it did work. Given up after
    /// <see cref="IntakeOptions.ProcessingTimeout"/> with a <see cref="TimeoutException"/>, whether or not the step it hangs
    /// in listens to cancellation: the row stays pending for a retry, and the caller's slot is free again. Without it, a
    /// call that never answers (a durable call has no deadline of its own) would hold a processing slot, and the row's
    /// place in the hand-off, for as long as the process lives.
    /// </summary>
    public async Task<bool> ProcessAsync(IntakeWorkItem work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var timeout = options.CurrentValue.ProcessingTimeout;
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            return await ProcessWithinAsync(work, linked.Token).WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Processing inbox row {work.Key} took longer than {timeout}; it stays pending for a retry.");
        }
    }

    private async Task<bool> ProcessWithinAsync(IntakeWorkItem work, CancellationToken cancellationToken)
    {
        using var span = EngagementTelemetry.StartContinued("intake.process", ActivityKind.Consumer, work.TraceParent);
        span?.SetTag("engagement.source", work.Source);
        // The hand-off carries the row this process stored; anything else reads it (it may be processed already).
        var item = work.Row ?? await inbox.GetAsync(work.Source, work.Key, cancellationToken);
        if (item is null || item.Processed)
        {
            return false;
        }

        var source = sources.Find(item.Source)
            ?? throw new InvalidOperationException($"Source '{item.Source}' is no longer configured; inbox row {item.Key} stays pending.");
        var body = await inbox.ReadBodyAsync(item, cancellationToken);
        using var client = await fhirClients.CreateAsync(item.Source, source, cancellationToken);
        var context = new Context(item.Source, source, client, work.MayBeRerun);
        switch (item.Kind)
        {
            case InboxKinds.Notification:
                await ProcessNotificationAsync(context, body, cancellationToken);
                break;
            case InboxKinds.Ping:
                await ProcessPingAsync(context, item, cancellationToken);
                break;
            case InboxKinds.RestHookPut or InboxKinds.RestHookDelete or InboxKinds.EventGrid:
                await ProcessResourceEventAsync(context, item, body, cancellationToken);
                break;
            default:
                throw new InvalidOperationException($"Inbox row {item.Key} has an unknown kind.");
        }

        await inbox.MarkProcessedAsync(item, time.GetUtcNow(), cancellationToken);
        logger.LogInformation("Inbox row {InboxKey} from {Source} processed ({Kind})", item.Key, item.Source, item.Kind);
        return true;
    }

    private async System.Threading.Tasks.Task ProcessNotificationAsync(Context context, byte[] body, CancellationToken cancellationToken)
    {
        var notification = NotificationParser.Parse(body, options.CurrentValue.MaxJsonDepth, out var problem)
            ?? throw new InvalidOperationException("A stored notification no longer parses: " + problem?.Diagnostics);
        var unresolved = new List<long>();
        if (notification.DeliversEvents)
        {
            var events = new List<ClinicalEvent>();
            var withoutFocus = new List<NotificationEvent>();
            foreach (var e in notification.Events)
            {
                if (e.Focus is null)
                {
                    withoutFocus.Add(e);
                }
                else if (await ResolveAsync(context, notification, e, cancellationToken) is { } resolved)
                {
                    events.Add(resolved);
                }
                else
                {
                    unresolved.Add(e.Number);
                }
            }

            if (withoutFocus.Count > 0)
            {
                // Empty payload: ask the source what those events were.
                var fetched = context.Client is null ? [] : await EventsFromSourceAsync(context, notification.Subscription, notification.SubscriptionId,
                    withoutFocus.Min(e => e.Number), withoutFocus.Max(e => e.Number), cancellationToken);
                events.AddRange(fetched.Where(f => withoutFocus.Any(w => w.Number == f.EventNumber)));
                unresolved.AddRange(withoutFocus.Select(w => w.Number).Where(n => fetched.All(f => f.EventNumber != n)));
            }

            await JournalAndRouteAsync(events, cancellationToken, mayRepeat: context.MayBeRerun);
        }

        TimeSpan? period = null;
        if (notification.Type == NotificationType.Handshake)
        {
            period = await HeartbeatPeriodAsync(context, notification.SubscriptionId, cancellationToken);
        }

        var now = time.GetUtcNow();
        var state = await states.UpdateAsync(context.Name, notification.Subscription, s =>
        {
            var next = s.Observe(notification, now).AlsoMissing(unresolved, now);
            return next with { HeartbeatPeriod = period ?? next.HeartbeatPeriod ?? context.Source.HeartbeatPeriod };
        }, cancellationToken);
        logger.LogInformation(
            "Subscription {Subscription} at {Source}: {NotificationType}, last event {LastEventNumber}, missing {MissingCount}",
            notification.Subscription, context.Name, SubscriptionNotification.TypeCode(notification.Type), state.LastEventNumber, state.Missing.Count);

        await DeclareAndRecoverAsync(context, state, now, retryDeclared: false, cancellationToken);
    }

    /// <summary>
    /// The sweeper's pass over gaps: subscriptions whose missing numbers outlived the grace period without another
    /// notification arriving are declared and recovered here. Returns how many subscriptions it recovered for.
    /// </summary>
    public async Task<int> RecoverOverdueGapsAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var grace = options.CurrentValue.GapGracePeriod;
        var handled = 0;
        foreach (var name in sources.Names.ToList())
        {
            var source = sources.Find(name);
            if (source is null)
            {
                continue;
            }

            // Declared gaps are fetched again only once their backoff is over; a number newly overdue is declared (and
            // fetched) at once.
            foreach (var state in (await states.ListAsync(name, cancellationToken))
                .Where(s => s.HasOverdueMissing(now, grace) && (s.RecoveryDue(now) || s.HasOverdueUndeclared(now, grace))))
            {
                using var client = await fhirClients.CreateAsync(name, source, cancellationToken);
                await DeclareAndRecoverAsync(new Context(name, source, client, MayBeRerun: true), state, now, retryDeclared: state.RecoveryDue(now), cancellationToken);
                handled++;
            }
        }

        return handled;
    }

    /// <summary>
    /// Declares missing numbers older than the grace period as gaps and fetches the declared gaps: when this call
    /// declared new ones, or, for the sweeper (<paramref name="retryDeclared"/>), whenever some are still open. So
    /// concurrent notifications do not each fetch the same gap.
    /// </summary>
    private async System.Threading.Tasks.Task DeclareAndRecoverAsync(Context context, SubscriptionState state, DateTimeOffset now, bool retryDeclared, CancellationToken cancellationToken)
    {
        var fetch = retryDeclared;
        var grace = options.CurrentValue.GapGracePeriod;

        // While our own backlog is older than the grace period, a missing number may be a notification we acknowledged
        // and have not processed yet: not a gap. It is declared once intake has caught up (on a later notification or
        // by the sweeper), if it is still missing then.
        if (state.HasOverdueMissing(now, grace)
            && !(state.HasOverdueUndeclared(now, grace) && await backlog.IsBehindAsync(context.Name, now - grace, cancellationToken)))
        {
            var before = state.GapsFound;
            state = await states.UpdateAsync(context.Name, state.Subscription, s => s.HasOverdueMissing(now, grace) ? s.Declare() : s, cancellationToken);
            fetch |= state.GapsFound > before;
        }

        if (fetch && (state.Declared ?? []).Count > 0 && context.Client is not null)
        {
            var subscriptionId = ResourceRef.TryParse(state.Subscription, out var reference) ? reference.Id : state.Subscription;
            await RecoverAsync(context, state, subscriptionId, cancellationToken);
        }
    }

    /// <summary>Closes gaps: <c>$events</c> for each missing range; when the server has no <c>$events</c>, <c>$status</c> and a re-query.</summary>
    private async System.Threading.Tasks.Task RecoverAsync(Context context, SubscriptionState state, string subscriptionId, CancellationToken cancellationToken)
    {
        try
        {
            await RecoverRangesAsync(context, state, subscriptionId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await RecordRecoveryAttemptAsync(context, state, cancellationToken); // a failed try counts: the source is asked later, not at every sweep
            throw;
        }

        await RecordRecoveryAttemptAsync(context, state, cancellationToken);
    }

    private Task<SubscriptionState> RecordRecoveryAttemptAsync(Context context, SubscriptionState state, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var intake = options.CurrentValue;
        return states.UpdateAsync(context.Name, state.Subscription, s => s.AfterRecoveryAttempt(now, intake.GapRecoveryBackoff, intake.GapRecoveryMaxBackoff), cancellationToken);
    }

    private async System.Threading.Tasks.Task RecoverRangesAsync(Context context, SubscriptionState state, string subscriptionId, CancellationToken cancellationToken)
    {
        foreach (var (from, to) in state.MissingRanges().ToList())
        {
            IReadOnlyList<long> obtained;
            try
            {
                var events = await EventsFromSourceAsync(context, state.Subscription, subscriptionId, from, to, cancellationToken);
                await JournalAndRouteAsync(events, cancellationToken, mayRepeat: context.MayBeRerun);
                obtained = [.. events.Select(e => e.EventNumber).OfType<long>()];
                logger.LogInformation("Recovered events {From}-{To} of {Subscription} at {Source} through $events: {Count}", from, to, state.Subscription, context.Name, obtained.Count);
            }
            catch (FhirOperationException ex) when (ex.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest or HttpStatusCode.MethodNotAllowed
                or HttpStatusCode.NotImplemented or HttpStatusCode.UnprocessableEntity)
            {
                logger.LogWarning("$events failed at {Source} for {Subscription} ({StatusCode}); falling back to $status and a re-query", context.Name, state.Subscription, (int)ex.Status);
                obtained = await StatusAndRequeryAsync(context, state, subscriptionId, from, to, cancellationToken);
            }

            // Counted as the state counts them: numbers still missing when recorded (a concurrent recovery of the same
            // gap — the notification path and the sweeper — fetches them twice but recovers them once).
            var recovered = 0L;
            await states.UpdateAsync(context.Name, state.Subscription, s =>
            {
                var next = s.Recovered(obtained);
                recovered = next.GapsRecovered - s.GapsRecovered;
                return next;
            }, cancellationToken);
            EngagementTelemetry.EventsRecovered.Add(recovered, new KeyValuePair<string, object?>("source", context.Name));
        }
    }

    private async Task<IReadOnlyList<long>> StatusAndRequeryAsync(Context context, SubscriptionState state, string subscriptionId, long from, long to, CancellationToken cancellationToken)
    {
        try
        {
            if (await context.Client!.GetAsync($"Subscription/{subscriptionId}/$status", cancellationToken) is { } resource
                && NotificationParser.FromResource(resource, out _) is { } status)
            {
                await states.UpdateAsync(context.Name, state.Subscription, s => s with
                {
                    Status = status.Status ?? s.Status,
                    Error = status.Errors.Count > 0 ? string.Join(',', status.Errors) : status.Status == "error" ? "error" : s.Error,
                }, cancellationToken);
            }
        }
        catch (FhirOperationException ex)
        {
            logger.LogWarning("$status failed at {Source} for {Subscription} ({StatusCode})", context.Name, state.Subscription, (int)ex.Status);
        }

        if (string.IsNullOrEmpty(context.Source.Criteria))
        {
            return [];
        }

        var since = (state.LastNotification ?? time.GetUtcNow().AddDays(-1)).AddMinutes(-10);
        var events = await RequeryAsync(context, since, cancellationToken);
        await JournalAndRouteAsync(events, cancellationToken, mayRepeat: true);
        var range = new List<long>();
        for (var n = from; n <= to; n++)
        {
            range.Add(n);
        }

        return range;
    }

    /// <summary>Events <paramref name="from"/>..<paramref name="to"/> through <c>$events</c>, with their resources.</summary>
    private static async Task<IReadOnlyList<ClinicalEvent>> EventsFromSourceAsync(Context context, string subscription, string subscriptionId, long from, long to, CancellationToken cancellationToken)
    {
        var url = string.Create(CultureInfo.InvariantCulture, $"Subscription/{subscriptionId}/$events?eventsSinceNumber={from}&eventsUntilNumber={to}&content=full-resource");
        var resource = await context.Client!.GetAsync(url, cancellationToken);
        var result = resource is null ? null : NotificationParser.FromResource(resource, out _);
        if (result is null)
        {
            throw new FhirOperationException("$events did not answer with a notification bundle", HttpStatusCode.UnprocessableEntity);
        }

        // $events answers for the subscription we asked about, whatever reference form the server uses.
        result = result with { Subscription = subscription };
        var events = new List<ClinicalEvent>();
        foreach (var e in result.Events.Where(e => e.Number >= from && e.Number <= to))
        {
            if (await ResolveAsync(context, result, e, cancellationToken) is { } resolved)
            {
                events.Add(resolved);
            }
        }

        return events;
    }

    private static async Task<ClinicalEvent?> ResolveAsync(Context context, SubscriptionNotification notification, NotificationEvent e, CancellationToken cancellationToken)
    {
        var focus = e.Focus!;
        var reference = ResourceRef.TryParse(focus, out var parsed) ? parsed : null;
        var resource = notification.FindResource(focus);
        var kind = ClinicalEventKind.Updated;
        if (resource is not null)
        {
            kind = notification.MethodFor(resource) switch
            {
                Bundle.HTTPVerb.DELETE => ClinicalEventKind.Deleted,
                Bundle.HTTPVerb.POST => ClinicalEventKind.Created,
                Bundle.HTTPVerb.PUT => resource.Meta?.VersionId == "1" ? ClinicalEventKind.Created : ClinicalEventKind.Updated,
                _ => resource.Meta?.VersionId == "1" ? ClinicalEventKind.Created : ClinicalEventKind.Updated,
            };
        }
        else if (reference is not null && context.Client is not null)
        {
            (resource, var gone) = await ReadAsync(context.Client, reference, cancellationToken);
            kind = gone ? ClinicalEventKind.Deleted : resource?.Meta?.VersionId == "1" ? ClinicalEventKind.Created : ClinicalEventKind.Updated;
        }
        else if (reference is null)
        {
            return null;
        }

        var type = resource?.TypeName ?? reference!.Type;
        var id = resource?.Id ?? reference!.Id;
        return new ClinicalEvent(
            ClinicalEvent.TopicEventId(context.Name, notification.Subscription, e.Number),
            context.Name, type, id, resource?.Meta?.VersionId ?? reference?.VersionId, kind,
            notification.Subscription, notification.Topic, e.Number, e.Timestamp,
            kind == ClinicalEventKind.Deleted || resource is null ? null : FhirJson.Serialize(resource))
        {
            ContextPatientsJson = ContextPatients(notification, e),
        };
    }

    /// <summary>The Patients the event's additional context points to that the bundle carries (not deleted ones).</summary>
    private static List<string> ContextPatients(SubscriptionNotification notification, NotificationEvent e)
    {
        var patients = new List<string>();
        foreach (var reference in e.AdditionalContext)
        {
            if (notification.FindResource(reference) is Patient { Id.Length: > 0 } patient && notification.MethodFor(patient) != Bundle.HTTPVerb.DELETE)
            {
                patients.Add(FhirJson.Serialize(patient));
            }
        }

        return patients;
    }

    private async System.Threading.Tasks.Task ProcessResourceEventAsync(Context context, InboxItem item, byte[] body, CancellationToken cancellationToken)
    {
        var kind = Enum.TryParse<ClinicalEventKind>(item.EventKind, out var k) ? k : ClinicalEventKind.Updated;
        var type = item.ResourceType!;
        var id = item.ResourceId!;
        Resource? resource = null;
        var version = item.VersionId;
        if (item.Kind == InboxKinds.RestHookPut && body.Length > 0)
        {
            resource = NotificationParser.ParseResource(body, options.CurrentValue.MaxJsonDepth, out _);
            version ??= "sha-" + IntakeKeys.ForBytes(body);
        }
        else if (kind != ClinicalEventKind.Deleted)
        {
            if (context.Client is null)
            {
                logger.LogWarning("Source {Source} has no FhirBaseUrl: {ResourceType}/{ResourceId} is journaled without its resource", context.Name, type, id);
            }
            else
            {
                var (read, gone) = await ReadAsync(context.Client, new ResourceRef(type, id, version), cancellationToken);
                resource = read;
                kind = gone ? ClinicalEventKind.Deleted : kind;
                version ??= read?.Meta?.VersionId;
            }
        }

        var clinicalEvent = new ClinicalEvent(
            ClinicalEvent.ResourceEventId(context.Name, type, id, version, kind), context.Name, type, id, version, kind,
            null, null, null, item.ReceivedAt, resource is null ? null : FhirJson.Serialize(resource));
        await JournalAndRouteAsync([clinicalEvent], cancellationToken, mayRepeat: context.MayBeRerun);
    }

    /// <summary>Classic rest-hook ping: re-query the configured criteria for what changed since the last ping.</summary>
    private async System.Threading.Tasks.Task ProcessPingAsync(Context context, InboxItem item, CancellationToken cancellationToken)
    {
        const string PingSubscription = "rest-hook-ping";
        var previous = await states.GetAsync(context.Name, PingSubscription, cancellationToken);
        if (context.Client is null || string.IsNullOrEmpty(context.Source.Criteria))
        {
            logger.LogWarning("Ping from {Source} ignored: FhirBaseUrl and Criteria are needed to re-query", context.Name);
        }
        else
        {
            var since = (previous?.LastNotification ?? item.ReceivedAt.AddDays(-1)).AddMinutes(-1);
            await JournalAndRouteAsync(await RequeryAsync(context, since, cancellationToken), cancellationToken, mayRepeat: true);
        }

        await states.UpdateAsync(context.Name, PingSubscription, s => s with { Status = "active", LastNotification = item.ReceivedAt }, cancellationToken);
    }

    private static async Task<IReadOnlyList<ClinicalEvent>> RequeryAsync(Context context, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var criteria = context.Source.Criteria!;
        var url = criteria + (criteria.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "_lastUpdated=ge" + Uri.EscapeDataString(since.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        var events = new List<ClinicalEvent>();
        var page = await context.Client!.GetAsync(url, cancellationToken) as Bundle;
        for (var pages = 0; page is not null && pages < 20; pages++)
        {
            foreach (var resource in page.Entry.Where(e => e.Search?.Mode is null or Bundle.SearchEntryMode.Match).Select(e => e.Resource).OfType<Resource>())
            {
                if (resource.Id is null)
                {
                    continue;
                }

                var version = resource.Meta?.VersionId ?? resource.Meta?.LastUpdated?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                var kind = resource.Meta?.VersionId == "1" ? ClinicalEventKind.Created : ClinicalEventKind.Updated;
                events.Add(new ClinicalEvent(
                    ClinicalEvent.ResourceEventId(context.Name, resource.TypeName, resource.Id, version, kind), context.Name, resource.TypeName, resource.Id,
                    version, kind, null, null, null, resource.Meta?.LastUpdated, FhirJson.Serialize(resource)));
            }

            page = page.NextLink is null ? null : await context.Client.ContinueAsync(page, ct: cancellationToken);
        }

        return events;
    }

    private static async Task<(Resource? Resource, bool Gone)> ReadAsync(FhirClient client, ResourceRef reference, CancellationToken cancellationToken)
    {
        var path = reference.VersionId is null ? reference.TypeAndId : $"{reference.TypeAndId}/_history/{reference.VersionId}";
        try
        {
            return (await client.GetAsync(path, cancellationToken), false);
        }
        catch (FhirOperationException ex) when (ex.Status is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            return (null, true);
        }
    }

    private static async Task<TimeSpan?> HeartbeatPeriodAsync(Context context, string subscriptionId, CancellationToken cancellationToken)
    {
        if (context.Client is null)
        {
            return null;
        }

        try
        {
            var subscription = await context.Client.GetAsync($"Subscription/{subscriptionId}", cancellationToken) as Subscription;
            var seconds = subscription?.Channel?.GetExtensionValue<UnsignedInt>(HeartbeatPeriodExtension)?.Value;
            return seconds is > 0 ? TimeSpan.FromSeconds(seconds.Value) : null;
        }
        catch (FhirOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Routes each event, then records it in the journal. Events that may have been routed before (<paramref name="mayRepeat"/>:
    /// a re-query by <c>_lastUpdated</c>, or any event of a row that may be a rerun) are first looked up, and skipped when
    /// routed before: a rerun must not route an older version of a resource over a newer one routed since.
    /// </summary>
    private async System.Threading.Tasks.Task JournalAndRouteAsync(IEnumerable<ClinicalEvent> events, CancellationToken cancellationToken, bool mayRepeat = false)
    {
        var now = time.GetUtcNow();
        foreach (var e in events)
        {
            if (mayRepeat && await journal.IsRoutedAsync(e, cancellationToken))
            {
                continue;
            }

            await router.RouteAsync(e, cancellationToken);
            if (await journal.RecordRoutedAsync(e, now, cancellationToken))
            {
                EngagementTelemetry.EventsProcessed.Add(1, new KeyValuePair<string, object?>("source", e.Source));
            }
        }
    }

    /// <param name="MayBeRerun">The row may have been routed before (<see cref="IntakeWorkItem.MayBeRerun"/>).</param>
    private sealed record Context(string Name, SourceOptions Source, FhirClient? Client, bool MayBeRerun);
}
