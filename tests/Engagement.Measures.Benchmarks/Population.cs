using System.Globalization;
using Engagement.Measures;

namespace Engagement.Measures.Benchmarks;

/// <summary>One follow-up run as the engine would have recorded it: its cohort and its events, in time order.</summary>
internal sealed record SeedRun(string InstanceId, string Patient, RunCohort Cohort, List<EngagementEvent> Events);

/// <summary>
/// A deterministic year of engagement (seeded random): patients in follow-up runs of four protocols, each run's
/// questionnaire occurrences with their messages, receipts, reminders, link opens, responses (with score and time to
/// respond), on-time completions, escalations, red flags and acknowledgements, and opt-outs. Event ids, kinds and the
/// fields each carries follow the product's recording sites (docs/measures.md); generation stops at exactly
/// <c>responses</c> responses. <see cref="Expected"/> counts every event by protocol, UTC day and kind, independently of
/// the recorder, so the reports can be checked against it.
/// </summary>
internal sealed class Population
{
    public const int Year = 2025;
    private const string Canonical = "http://engagement-functions.org/fhir/Questionnaire/";

    private static readonly (string Id, double Weight, (string Questionnaire, int Day)[] Schedule, int MaxScore)[] Protocols =
    [
        ("heart-failure-discharge", 0.35, [("kccq-12", 2), ("kccq-12", 7), ("kccq-12", 14), ("kccq-12", 21), ("kccq-12", 28)], 100),
        ("copd-discharge", 0.20, [("cat", 3), ("cat", 10), ("cat", 17), ("cat", 28)], 40),
        ("depression-follow-up", 0.25, [("phq-9", 0), ("gad-7", 7), ("phq-9", 14), ("gad-7", 21), ("phq-9", 28)], 27),
        ("post-surgery", 0.20, [("pain-recovery", 1), ("pain-recovery", 4), ("pain-recovery", 7)], 10),
    ];

    private static readonly (string Value, double Weight)[] AgeBands = [("18-39", 0.12), ("40-64", 0.33), ("65-79", 0.35), ("80+", 0.17), ("unknown", 0.03)];
    private static readonly (string Value, double Weight)[] Languages = [("en", 0.72), ("es", 0.20), ("vi", 0.08)];
    private static readonly (string Value, double Weight)[] Channels = [("sms", 0.60), ("email", 0.30), ("push", 0.10)];

    public List<SeedRun> Runs { get; } = [];

    public Expected Expected { get; } = new();

    public static Population Generate(int patients, int responses, int seed = 20251)
    {
        var random = new Random(seed);
        var population = new Population();
        var start = new DateTimeOffset(Year, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var produced = 0;
        for (var n = 0; produced < responses; n++)
        {
            // The first `patients` runs are one per patient; later runs are second episodes of earlier patients.
            var patient = "pat-" + (n < patients ? n : random.Next(patients)).ToString("D6", CultureInfo.InvariantCulture);
            var protocol = Pick(random, Protocols.Select(p => (p, p.Weight)).ToArray());
            var cohort = new RunCohort(protocol.Id, Pick(random, AgeBands), Pick(random, Languages), Pick(random, Channels));
            var instance = $"run-{n:D6}";
            // Anchors up to 1 December (day 334) and answers within 3 days keep every event inside the year.
            var anchor = start.AddDays(random.Next(0, 330)).AddMinutes(random.Next(8 * 60, 18 * 60));
            var run = new SeedRun(instance, patient, cohort, []);
            run.Events.Add(new EngagementEvent { Id = "engaged-" + instance, Kind = EngagementEventKinds.Engaged, OccurredAt = anchor, InstanceId = instance });
            var baseRate = cohort.Channel switch { "sms" => 0.76, "email" => 0.66, _ => 0.70 } - (cohort.AgeBand == "80+" ? 0.08 : 0);
            var optsOutAt = random.NextDouble() < 0.025 ? random.Next(protocol.Schedule.Length) : -1;
            for (var k = 0; k < protocol.Schedule.Length && produced < responses; k++)
            {
                var (questionnaireId, day) = protocol.Schedule[k];
                var questionnaire = Canonical + questionnaireId + "|0.1.0";
                var due = anchor.AddDays(day);
                var key = $"{instance}-{k}";
                run.Events.Add(new EngagementEvent { Id = $"due-{key}", Kind = EngagementEventKinds.ActivityDue, OccurredAt = due, InstanceId = instance, Questionnaire = questionnaire });
                Send(run, random, $"msg-{key}-0", due, protocol.Id, cohort);
                if (k == optsOutAt)
                {
                    run.Events.Add(new EngagementEvent { Id = "optout-" + instance, Kind = EngagementEventKinds.OptOut, OccurredAt = due.AddMinutes(random.Next(1, 120)), InstanceId = instance, Protocol = protocol.Id });
                    break;
                }

                var answers = random.NextDouble() < baseRate;
                var minutes = answers ? MinutesToRespond(random) : 0;
                var reminders = answers ? (minutes > 1440 ? 1 : 0) : 1 + (random.NextDouble() < 0.5 ? 1 : 0);
                for (var r = 1; r <= reminders; r++)
                {
                    var at = due.AddDays(r);
                    run.Events.Add(new EngagementEvent { Id = $"reminder-msg-{key}-{r}", Kind = EngagementEventKinds.ReminderSent, OccurredAt = at, InstanceId = instance, Questionnaire = questionnaire });
                    Send(run, random, $"msg-{key}-{r}", at, protocol.Id, cohort);
                }

                if (answers || random.NextDouble() < 0.25)
                {
                    var opened = answers ? due.AddMinutes(Math.Max(0, minutes - random.Next(1, 10))) : due.AddMinutes(random.Next(5, 2000));
                    run.Events.Add(new EngagementEvent { Id = $"opened-lnk-{key}", Kind = EngagementEventKinds.LinkOpened, OccurredAt = opened, InstanceId = instance, Questionnaire = questionnaire });
                }

                if (!answers)
                {
                    if (random.NextDouble() < 0.3)
                    {
                        var raised = due.AddDays(3);
                        var task = $"esc-{key}";
                        run.Events.Add(new EngagementEvent { Id = "escalation-" + task, Kind = EngagementEventKinds.EscalationRaised, OccurredAt = raised, InstanceId = instance, Questionnaire = questionnaire, TaskId = task });
                        if (random.NextDouble() < 0.9)
                        {
                            var ack = random.Next(10, 1440);
                            run.Events.Add(new EngagementEvent { Id = "ack-" + task, Kind = EngagementEventKinds.EscalationAcknowledged, OccurredAt = raised.AddMinutes(ack), InstanceId = instance, Minutes = ack, TaskId = task });
                        }
                    }

                    continue;
                }

                var received = due.AddMinutes(minutes);
                var score = (decimal)random.Next(0, protocol.MaxScore + 1);
                run.Events.Add(new EngagementEvent
                {
                    Id = $"response-{key}", Kind = EngagementEventKinds.ResponseReceived, OccurredAt = received, InstanceId = instance,
                    Questionnaire = questionnaire, PatientId = patient, Minutes = minutes, Score = score,
                });
                produced++;
                population.Expected.Scored(protocol.Id, Canonical + questionnaireId, patient);
                if (minutes <= 2880)
                {
                    run.Events.Add(new EngagementEvent { Id = $"ontime-{key}", Kind = EngagementEventKinds.CompletedOnTime, OccurredAt = received, InstanceId = instance, Questionnaire = questionnaire });
                }

                if (random.NextDouble() < 0.03)
                {
                    var task = $"rf-{key}";
                    run.Events.Add(new EngagementEvent { Id = "red-flag-" + task, Kind = EngagementEventKinds.RedFlagRaised, OccurredAt = received, InstanceId = instance, Questionnaire = questionnaire, TaskId = task });
                    if (random.NextDouble() < 0.97)
                    {
                        var ack = Math.Round(5 + (random.NextDouble() * random.NextDouble() * 600), 1);
                        run.Events.Add(new EngagementEvent { Id = "ack-" + task, Kind = EngagementEventKinds.RedFlagAcknowledged, OccurredAt = received.AddMinutes(ack), InstanceId = instance, Minutes = ack, TaskId = task });
                    }
                    else
                    {
                        population.Expected.OpenItems++;
                    }
                }
            }

            foreach (var e in run.Events)
            {
                population.Expected.Count(cohort.Protocol, e);
            }

            population.Runs.Add(run);
        }

        population.Expected.OpenItems += population.Runs.Sum(r => r.Events.Count(e => e.Kind == EngagementEventKinds.EscalationRaised))
            - population.Runs.Sum(r => r.Events.Count(e => e.Kind == EngagementEventKinds.EscalationAcknowledged));
        return population;
    }

    /// <summary>A patient message as the dispatcher records it, and its receipt as the inbound gateway does.</summary>
    private static void Send(SeedRun run, Random random, string messageId, DateTimeOffset at, string protocol, RunCohort cohort)
    {
        run.Events.Add(new EngagementEvent
        {
            Id = messageId, Kind = EngagementEventKinds.MessageSent, OccurredAt = at, InstanceId = run.InstanceId, Protocol = protocol,
            Language = cohort.Language, Channel = cohort.Channel,
        });
        var kind = random.NextDouble() < 0.96 ? EngagementEventKinds.MessageDelivered : EngagementEventKinds.MessageFailed;
        run.Events.Add(new EngagementEvent
        {
            Id = kind + "-" + messageId, Kind = kind, OccurredAt = at.AddSeconds(random.Next(2, 300)), InstanceId = run.InstanceId, Protocol = protocol,
            Language = cohort.Language, Channel = cohort.Channel,
        });
    }

    /// <summary>Minutes from request to answer: most within hours, a tail over the next two days.</summary>
    private static double MinutesToRespond(Random random) => random.NextDouble() switch
    {
        < 0.40 => 1 + random.Next(0, 60),
        < 0.70 => 60 + random.Next(0, 420),
        < 0.88 => 480 + random.Next(0, 960),
        _ => 1440 + random.Next(0, 2880),
    };

    private static T Pick<T>(Random random, (T Value, double Weight)[] choices)
    {
        var x = random.NextDouble() * choices.Sum(c => c.Weight);
        foreach (var (value, weight) in choices)
        {
            if ((x -= weight) < 0)
            {
                return value;
            }
        }

        return choices[^1].Value;
    }
}

/// <summary>What the reports must say: event counts by protocol, UTC day and kind; patients with a score per protocol and questionnaire.</summary>
internal sealed class Expected
{
    public Dictionary<string, long> Counts { get; init; } = new(StringComparer.Ordinal);

    public Dictionary<string, HashSet<string>> ScoredPatients { get; init; } = new(StringComparer.Ordinal);

    public int OpenItems { get; set; }

    public void Count(string protocol, EngagementEvent e)
    {
        var key = $"{protocol}|{DateOnly.FromDateTime(e.OccurredAt.UtcDateTime):yyyy-MM-dd}|{e.Kind}";
        Counts[key] = Counts.GetValueOrDefault(key) + 1;
    }

    public void Scored(string protocol, string questionnaire, string patient)
    {
        var key = protocol + "|" + questionnaire;
        if (!ScoredPatients.TryGetValue(key, out var set))
        {
            ScoredPatients[key] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        set.Add(patient);
    }

    /// <summary>The count of one kind over [from, to] (inclusive), optionally one protocol.</summary>
    public long Sum(string kind, DateOnly from, DateOnly to, string? protocol) => Counts
        .Where(c =>
        {
            var parts = c.Key.Split('|');
            var day = DateOnly.ParseExact(parts[1], "yyyy-MM-dd", CultureInfo.InvariantCulture);
            return parts[2] == kind && day >= from && day <= to && (protocol is null || parts[0] == protocol);
        })
        .Sum(c => c.Value);
}
