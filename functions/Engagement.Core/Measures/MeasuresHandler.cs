using System.Globalization;
using System.Text.RegularExpressions;
using Engagement.Fhir;
using Engagement.Http;
using Engagement.Security.Smart;
using Microsoft.AspNetCore.Http;

namespace Engagement.Measures;

/// <summary>
/// <c>GET /api/fhir/MeasureReport/$engagement</c> (FHIR, the facade's access policy) and
/// <c>GET /api/metrics/engagement</c> (dashboard JSON, admin key or a staff token, <see cref="StaffAuthorizer"/>): the same aggregates, two shapes.
/// Parameters: <c>periodStart</c>, <c>periodEnd</c> (dates, inclusive, at most 366 days) and optional <c>protocol</c>
/// (a PlanDefinition id). Anything else, or a bad value, is a 400 OperationOutcome.
/// </summary>
public sealed partial class MeasuresHandler(EngagementMetrics metrics, IFhirAccessPolicy access, StaffAuthorizer staff)
{
    public const string EngagementRoute = "fhir/MeasureReport/$engagement";
    public const string MetricsRoute = "metrics/engagement";
    public const int MaxDays = 366;

    public async Task<IResult> EngagementAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var decision = await access.AuthorizeAsync(request, "MeasureReport", FhirInteraction.Search, null, cancellationToken);
        if (!decision.IsAllowed)
        {
            return decision.Denial!;
        }

        var (query, error) = Parse(request, fhir: true);
        if (error is not null)
        {
            return FhirResults.BadRequest(error);
        }

        var trends = metrics.ScoreTrendsAsync(query!, cancellationToken);
        var snapshot = await metrics.ReadAsync(query!, open: false, cancellationToken);
        return FhirResults.Resource(MeasureReportBuilder.Build(snapshot, await trends));
    }

    public async Task<IResult> MetricsAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (await staff.ChallengeAsync(request, cancellationToken) is { } denied)
        {
            return denied;
        }

        var (query, error) = Parse(request, fhir: false);
        if (error is not null)
        {
            return FhirResults.BadRequest(error);
        }

        var trends = metrics.ScoreTrendsAsync(query!, cancellationToken);
        var snapshot = await metrics.ReadAsync(query!, open: true, cancellationToken);
        return Results.Json(EngagementMetricsJson.From(snapshot, await trends));
    }

    internal static (MeasuresQuery? Query, string? Error) Parse(HttpRequest request, bool fhir)
    {
        string[] allowed = fhir ? ["periodStart", "periodEnd", "protocol", "_format"] : ["periodStart", "periodEnd", "protocol"];
        foreach (var key in request.Query.Keys)
        {
            if (!allowed.Contains(key, StringComparer.Ordinal))
            {
                return (null, $"Unknown parameter '{key}'. Supported: {string.Join(", ", allowed)}.");
            }

            if (request.Query[key].Count > 1)
            {
                return (null, $"Parameter '{key}' may appear once.");
            }
        }

        if (fhir && request.Query["_format"].ToString() is { Length: > 0 } format && !format.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, "Only JSON is supported (_format).");
        }

        var (start, startError) = ParseDate(request.Query["periodStart"].ToString(), "periodStart");
        var (end, endError) = ParseDate(request.Query["periodEnd"].ToString(), "periodEnd");
        if ((startError ?? endError) is { } dateError)
        {
            return (null, dateError);
        }

        var from = start!.Value;
        var to = end!.Value;
        if (to < from)
        {
            return (null, "periodEnd is before periodStart.");
        }

        if (to.DayNumber - from.DayNumber + 1 > MaxDays)
        {
            return (null, $"The period may span at most {MaxDays} days.");
        }

        string? protocol = null;
        if (request.Query["protocol"].ToString() is { Length: > 0 } p)
        {
            var id = p.StartsWith("PlanDefinition/", StringComparison.Ordinal) ? p["PlanDefinition/".Length..] : p;
            if (!ProtocolId().IsMatch(id))
            {
                return (null, "protocol must be a PlanDefinition id ([A-Za-z0-9-.], at most 64 characters).");
            }

            protocol = id;
        }
        else if (request.Query.ContainsKey("protocol"))
        {
            return (null, "protocol is empty.");
        }

        return (new MeasuresQuery(from, to, protocol), null);
    }

    /// <summary>A FHIR date (<c>YYYY-MM-DD</c>) or dateTime (its UTC date is used).</summary>
    private static (DateOnly? Date, string? Error) ParseDate(string value, string name)
    {
        if (value.Length == 0)
        {
            return (null, $"{name} is required (a date, YYYY-MM-DD).");
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return (date, null);
        }

        // A FHIR dateTime with a time SHALL carry its zone ("K" alone would also take none, as the server's local time).
        if (value.Length > 10 && ZoneSuffix().IsMatch(value) && DateTimeOffset.TryParseExact(value, ["yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant))
        {
            return (DateOnly.FromDateTime(instant.UtcDateTime), null);
        }

        return (null, $"{name} '{value}' is not a FHIR date (YYYY-MM-DD) or dateTime with a time zone.");
    }

    [GeneratedRegex("^[A-Za-z0-9.-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex ProtocolId();

    [GeneratedRegex("(Z|[+-][0-9]{2}:[0-9]{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex ZoneSuffix();
}
