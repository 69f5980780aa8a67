using System.Collections.Concurrent;
using System.Net;
using Engagement.Integration.Tests.Links;

namespace Engagement.Reliability;

/// <summary>
/// kill -9 of the host while 8 patients at a time submit QuestionnaireResponses through their engagement links. Every
/// submission that got 201 is stored exactly once, with its Provenance and score Observation, and its Task completed.
/// One that got no 201 is resubmitted with the same link (what the page does when the patient presses submit again)
/// and ends stored exactly once, with its Task completed: nothing stays half-written.
/// </summary>
public sealed class CrashDuringSubmissionTests
{
    /// <summary>One response, one Provenance, one score Observation, the Task completed.</summary>
    private static readonly (int, int, int, string?) Complete = (1, 1, 1, "completed");

    [Fact]
    public async Task Killed_while_responses_are_submitted_every_201_is_stored_once_and_the_rest_can_be_resubmitted()
    {
        var count = ReliabilityRun.Size(40, 1000);
        await using var h = new ReliabilityHarness(secondsPerDay: 86400, configure: s => s["Engagement__Outbox__DispatchInterval"] = "1.00:00:00");
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var patients = Enumerable.Range(1, count).Select(i => $"pat-sub-{run}-{i}").ToList();
        var tasks = Enumerable.Range(1, count).Select(i => $"task-sub-{run}-{i}").ToList();
        var links = new IssuedTestLink[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            await ReliabilityHarness.SeedTaskAsync(patients[i], tasks[i]);
            links[i] = await LinkApi.IssueAsync(h.Host, patients[i], tasks[i]);
        });

        var answers = new ConcurrentDictionary<int, HttpStatusCode?>();
        var next = -1;
        var created = 0;
        var killAt = count / 2;
        var killed = new TaskCompletionSource();
        var senders = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var (status, _) = await h.SubmitResponseAsync(links[i].Token, ReliabilityHarness.Phq9Response(i % 4));
                answers[i] = status;
                if (status is HttpStatusCode.Created && Interlocked.Increment(ref created) == killAt)
                {
                    killed.TrySetResult();
                }
            }
        })).ToList();
        await Task.WhenAny(killed.Task, Task.WhenAll(senders));
        await h.Host.KillAsync();
        await Task.WhenAll(senders);
        var ok = answers.Where(a => a.Value == HttpStatusCode.Created).Select(a => a.Key).ToList();
        var notOk = Enumerable.Range(0, count).Except(ok).ToList();

        await h.Host.StartAsync();
        var afterRestart = await StateAsync(h, patients, tasks);
        var okComplete = ok.Count(i => afterRestart[i] == Complete);
        var notOkStored = notOk.Count(i => afterRestart[i].Responses == 1);
        var notOkHalf = notOk.Count(i => afterRestart[i].Responses == 1 && afterRestart[i] != Complete);

        // Resubmission with the same link: 201, or 410 when the first one had been completed (and the link marked
        // used) just before the kill took the answer away.
        var resubmitted = new ConcurrentDictionary<int, HttpStatusCode?>();
        await Parallel.ForEachAsync(notOk, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            resubmitted[i] = (await h.SubmitResponseAsync(links[i].Token, ReliabilityHarness.Phq9Response(i % 4), ct)).Status);
        var final = await StateAsync(h, patients, tasks);

        ReliabilityRun.Record("Crash during QuestionnaireResponse submission (kill -9)", [
            ("submissions (one link each, 8 at a time)", count),
            ("answered 201 before the kill", ok.Count),
            ("not 201 (connection lost at the kill)", notOk.Count),
            ("201'd: stored once with Provenance, Observation and Task completed, after restart", $"{okComplete} of {ok.Count}"),
            ("not 201'd but stored before the kill / of which not yet completed", $"{notOkStored} / {notOkHalf}"),
            ("resubmissions answered", string.Join(", ", resubmitted.Values.GroupBy(s => s?.ToString() ?? "no answer").Select(g => $"{g.Key} {g.Count()}"))),
            ("responses / Provenances / Observations stored, final", $"{final.Sum(s => s.Responses)} / {final.Sum(s => s.Provenances)} / {final.Sum(s => s.Observations)}"),
            ("Tasks completed, final", final.Count(s => s.TaskStatus == "completed")),
        ]);

        Assert.True(ok.Count > 0 && notOk.Count > 0, $"the kill came during the submissions: {ok.Count} got 201, {notOk.Count} did not");
        Assert.All(ok, i => Assert.Equal(Complete, afterRestart[i]));
        Assert.All(afterRestart, s => Assert.InRange(s.Responses, 0, 1));
        Assert.All(notOk, i => Assert.True(
            resubmitted[i] == HttpStatusCode.Created || (resubmitted[i] == HttpStatusCode.Gone && afterRestart[i] == Complete),
            $"resubmission {i}: {resubmitted[i]}, state before it {afterRestart[i]}"));
        Assert.All(final, s => Assert.Equal(Complete, s));
    }

    /// <summary>Per submission: stored responses, Provenances and score Observations of its patient, and its Task's status.</summary>
    private static async Task<List<(int Responses, int Provenances, int Observations, string? TaskStatus)>> StateAsync(ReliabilityHarness h, List<string> patients, List<string> tasks)
    {
        var set = patients.ToHashSet();
        var responses = (await h.ResourcesAsync("QuestionnaireResponse", set)).GroupBy(r => r.PatientId).ToDictionary(g => g.Key, g => g.Count());
        var provenances = (await h.ResourcesAsync("Provenance", set)).GroupBy(r => r.PatientId).ToDictionary(g => g.Key, g => g.Count());
        var observations = (await h.ResourcesAsync("Observation", set)).GroupBy(r => r.PatientId).ToDictionary(g => g.Key, g => g.Count());
        var statuses = new ConcurrentDictionary<int, string?>();
        await Parallel.ForEachAsync(Enumerable.Range(0, tasks.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) => statuses[i] = await h.TaskStatusAsync(tasks[i]));
        return [.. Enumerable.Range(0, patients.Count).Select(i => (
            responses.GetValueOrDefault(patients[i]),
            provenances.GetValueOrDefault(patients[i]),
            observations.GetValueOrDefault(patients[i]),
            statuses[i]))];
    }
}
