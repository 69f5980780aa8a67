using System.Globalization;
using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Links;
using Engagement.Outcomes;
using Hl7.Fhir.Model;

namespace Engagement.Preferences;

/// <summary>One upcoming follow-up as the patient sees it: what (the questionnaire title only) and when, in their zone.</summary>
public sealed record UpcomingFollowUp(string Title, DateTimeOffset Due, string When, string Status);

/// <summary>One past response: the questionnaire, when, the total and its band, explained in plain language.</summary>
public sealed record PastResponse(string Title, DateTimeOffset Authored, string When, decimal? Score, string? Band, string Explanation);

/// <summary>The JSON of <c>GET /api/engage/{token}/overview</c>.</summary>
public sealed record EngagementOverviewBody(string Language, string TimeZone, IReadOnlyList<UpcomingFollowUp> Upcoming, IReadOnlyList<PastResponse> Responses);

/// <summary>
/// What the engagement page shows under "Your follow-ups", built from the patient's own FHIR resources: open Tasks
/// the engine planned for them (questionnaires and messages; never the care team's red-flag reviews) and their
/// stored QuestionnaireResponses with the score Observation recorded beside each. No clinical detail beyond the
/// questionnaire title: a message Task is shown as "a message from your care team", whatever its protocol step is called.
/// </summary>
public sealed class EngagementOverview(IFhirResourceStore store, IQuestionnaireTitles titles)
{
    public const int MaxItems = 20;

    public async Task<EngagementOverviewBody> BuildAsync(string patientId, string language, TimeZoneInfo zone, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var culture = CultureInfo.GetCultureInfo(language);
        var texts = OverviewTexts.For(language);

        var upcoming = new List<UpcomingFollowUp>();
        var tasks = (await store.SearchByPatientAsync("Task", patientId, cancellationToken)).Select(s => s.Resource).OfType<Hl7.Fhir.Model.Task>()
            .Where(t => t.Status is Hl7.Fhir.Model.Task.TaskStatus.Requested or Hl7.Fhir.Model.Task.TaskStatus.Ready or Hl7.Fhir.Model.Task.TaskStatus.InProgress)
            .Where(t => t.Code?.Coding.Any(c => c.System == FollowUpIds.TaskCodeSystem && c.Code is "complete-questionnaire" or "engagement-message") == true)
            .Where(t => t.For?.Reference == "Patient/" + patientId)
            .Select(t => (task: t, due: Instant(t.ExecutionPeriod?.StartElement)))
            .Where(t => t.due is not null)
            .OrderBy(t => t.due)
            .Take(MaxItems);
        foreach (var (task, due) in tasks)
        {
            var title = task.Focus?.Reference is { } canonical && canonical.Contains("/Questionnaire/", StringComparison.Ordinal)
                ? await titles.FindTitleAsync(canonical, language, cancellationToken) ?? texts.Questionnaire
                : texts.Message;
            var local = TimeZoneInfo.ConvertTime(due!.Value, zone);
            upcoming.Add(new UpcomingFollowUp(title, local, When(local, culture),
                task.Status == Hl7.Fhir.Model.Task.TaskStatus.Requested ? "scheduled" : "open"));
        }

        var responses = new List<PastResponse>();
        var stored = (await store.SearchByPatientAsync("QuestionnaireResponse", patientId, cancellationToken)).Select(s => s.Resource).OfType<QuestionnaireResponse>()
            .Where(r => r.Subject?.Reference == "Patient/" + patientId)
            .Select(r => (response: r, authored: Instant(r.AuthoredElement) ?? r.Meta?.LastUpdated))
            .Where(r => r.authored is not null)
            .OrderByDescending(r => r.authored)
            .Take(MaxItems)
            .ToList();
        foreach (var (response, authored) in stored)
        {
            var title = response.Questionnaire is { } canonical
                ? await titles.FindTitleAsync(canonical, language, cancellationToken) ?? texts.Questionnaire
                : texts.Questionnaire;
            var observation = (await store.GetAsync("Observation", "obs-" + response.Id, cancellationToken))?.Resource as Observation;
            var score = (observation?.Value as Quantity)?.Value;
            var band = observation?.Interpretation.FirstOrDefault()?.Text;
            var known = observation?.Code?.Coding.Select(c => ScoreCodes.Find(c.System, c.Code)).FirstOrDefault(k => k is not null);
            var local = TimeZoneInfo.ConvertTime(authored!.Value, zone);
            responses.Add(new PastResponse(title, local, When(local, culture), score, band, texts.Explain(known, score, band, culture)));
        }

        return new EngagementOverviewBody(language, zone.Id, upcoming, responses);
    }

    private static DateTimeOffset? Instant(FhirDateTime? value) =>
        value is not null && value.TryToDateTimeOffset(out var instant) ? instant : null;

    private static string When(DateTimeOffset local, CultureInfo culture) =>
        local.ToString("D", culture) + ", " + local.ToString("t", culture);
}

/// <summary>The overview's texts in the page languages, and the plain-language explanation of a score.</summary>
internal sealed record OverviewTexts(
    string Questionnaire,
    string Message,
    string Answered,
    string Total,
    string TotalOfInstrument,
    string Range,
    string BandSentence,
    string BandRangeSentence,
    string NotADiagnosis,
    IReadOnlyDictionary<string, string> Bands)
{
    public static OverviewTexts For(string language) => language == EngagementPage.Spanish ? Spanish : English;

    /// <summary>E.g. "Your PHQ-9 total was 8 (scores go from 0 to 27). A score from 5 to 9 suggests mild symptoms."</summary>
    public string Explain(KnownScore? known, decimal? score, string? band, CultureInfo culture)
    {
        if (score is not { } total)
        {
            return Answered;
        }

        var number = total.ToString("0.##", culture);
        var text = known is null ? string.Format(culture, Total, number) : string.Format(culture, TotalOfInstrument, known.Instrument, number);
        if (known is { Bands.Count: > 0 } withBands)
        {
            text += " " + string.Format(culture, Range, withBands.Bands.Min(b => b.Low).ToString("0.##", culture), withBands.Bands.Max(b => b.High).ToString("0.##", culture));
        }
        else if (known is not null)
        {
            text += ".";
        }

        if (band is not null && Bands.TryGetValue(band, out var words))
        {
            var range = known?.Bands.FirstOrDefault(b => b.Code == band);
            text += " " + (range is null
                ? string.Format(culture, BandSentence, words)
                : string.Format(culture, BandRangeSentence, range.Low.ToString("0.##", culture), range.High.ToString("0.##", culture), words));
        }

        return text + " " + NotADiagnosis;
    }

    private static readonly OverviewTexts English = new(
        Questionnaire: "A questionnaire",
        Message: "A message from your care team",
        Answered: "We have your answers. Your care team will look at them.",
        Total: "Your total score was {0}.",
        TotalOfInstrument: "Your {0} total score was {1}",
        Range: "(scores go from {0} to {1}).",
        BandSentence: "This suggests {0}.",
        BandRangeSentence: "A score from {0} to {1} suggests {2}.",
        NotADiagnosis: "This is not a diagnosis: your care team looks at it together with everything else they know about you.",
        Bands: new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["minimal"] = "minimal symptoms",
            ["mild"] = "mild symptoms",
            ["moderate"] = "moderate symptoms",
            ["moderately-severe"] = "moderately severe symptoms",
            ["severe"] = "severe symptoms",
            ["negative"] = "no sign that more questions are needed",
            ["positive"] = "that your care team may ask you a few more questions",
        });

    private static readonly OverviewTexts Spanish = new(
        Questionnaire: "Un cuestionario",
        Message: "Un mensaje de su equipo de atención",
        Answered: "Tenemos sus respuestas. Su equipo de atención las revisará.",
        Total: "Su puntuación total fue {0}.",
        TotalOfInstrument: "Su puntuación total del {0} fue {1}",
        Range: "(las puntuaciones van de {0} a {1}).",
        BandSentence: "Esto indica {0}.",
        BandRangeSentence: "Una puntuación de {0} a {1} indica {2}.",
        NotADiagnosis: "Esto no es un diagnóstico: su equipo de atención lo considera junto con todo lo que sabe de usted.",
        Bands: new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["minimal"] = "síntomas mínimos",
            ["mild"] = "síntomas leves",
            ["moderate"] = "síntomas moderados",
            ["moderately-severe"] = "síntomas moderadamente graves",
            ["severe"] = "síntomas graves",
            ["negative"] = "que no hacen falta más preguntas",
            ["positive"] = "que su equipo de atención podría hacerle algunas preguntas más",
        });
}
