using BenchmarkDotNet.Running;
using Engagement.Intake.Benchmarks;

// `-- bench [BenchmarkDotNet args]` runs the parse-and-validate benchmarks; `-- load --target intake|floor ...` the load client.
if (args.Length > 0 && args[0] == "load")
{
    return await LoadClient.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(ParseAndValidateBenchmarks).Assembly).Run(args.Length > 0 && args[0] == "bench" ? args[1..] : args);
return 0;
