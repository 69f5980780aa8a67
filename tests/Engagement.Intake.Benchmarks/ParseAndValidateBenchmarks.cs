using BenchmarkDotNet.Attributes;
using Engagement.Intake;

namespace Engagement.Intake.Benchmarks;

/// <summary>The CPU part of the accept path: JSON checks, Firely deserialization and Backport IG validation.</summary>
[MemoryDiagnoser]
public class ParseAndValidateBenchmarks
{
    private byte[] notification = [];
    private byte[] eventGrid = [];

    [GlobalSetup]
    public void Setup()
    {
        notification = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "notification-full-resource.json"));
        eventGrid = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "eventgrid-encounter-updated.json"));
    }

    /// <summary>Syntax and nesting only (the reader pass that runs before Firely).</summary>
    [Benchmark]
    public bool CheckJson() => NotificationParser.CheckJson(notification, 64) is null;

    /// <summary>The whole parse-and-validate step of <c>POST /api/notifications/{source}</c> (3-entry full-resource bundle).</summary>
    [Benchmark(Baseline = true)]
    public string ParseNotification()
    {
        var parsed = NotificationParser.Parse(notification, 64, out _)!;
        return parsed.DedupeKey(() => IntakeKeys.ForBytes(notification));
    }

    /// <summary>Parse of an Event Grid schema delivery of one event.</summary>
    [Benchmark]
    public int ParseEventGrid() => EventGridParser.Parse(eventGrid, 64, out _)!.Events.Count;
}
