using BenchmarkDotNet.Running;
using Engagement.Benchmarks;

BenchmarkSwitcher.FromTypes([typeof(QuestionnaireBenchmarks)]).Run(args);
