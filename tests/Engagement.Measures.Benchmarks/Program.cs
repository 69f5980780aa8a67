using Engagement.Measures.Benchmarks;

// `seed --storage CONN --table NAME --expected FILE [...]` records the population; `query --url URL --expected FILE [...]`
// times the routes and checks their counts; `scan --storage CONN --table NAME --reads N` is the Azurite baseline.
var options = args.Skip(1).Select((a, i) => (a, i)).Where(t => t.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(t => t.a[2..], t => t.i + 2 < args.Length ? args[t.i + 2] : "", StringComparer.Ordinal);
return args.FirstOrDefault() switch
{
    "seed" => await Seeder.RunAsync(options),
    "query" => await QueryClient.RunAsync(options),
    "scan" => await Seeder.ScanBaselineAsync(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: seed|query|scan --option value ... (see scripts/load-measures.sh)");
    return 2;
}
