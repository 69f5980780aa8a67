using BenchmarkDotNet.Running;
using Engagement.Intake.Benchmarks;

// `-- bench [BenchmarkDotNet args]` runs the parse-and-validate benchmarks; `-- load --target intake|floor ...` the load client;
// `-- retention N` the retention sweep's measurement (scripts/measure-retention.sh).
if (args.Length > 0 && args[0] == "load")
{
    return await LoadClient.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "retention")
{
    return await RetentionMeasurement.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(ParseAndValidateBenchmarks).Assembly).Run(args.Length > 0 && args[0] == "bench" ? args[1..] : args);
return 0;
