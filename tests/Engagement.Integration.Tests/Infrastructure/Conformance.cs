using Engagement.Testing;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Engagement.Integration.Tests.Infrastructure;

/// <summary>
/// What the engine produced for a patient, read back through the FHIR facade and validated with the Firely
/// validator against our profiles in fhir-profiles/ (the profile each resource claims in meta.profile, which
/// must be ours) and the core definitions.
/// </summary>
public static class Conformance
{
    private static readonly FhirJsonDeserializer Parser = new();

    public static async Task<IReadOnlyList<Resource>> AssertProducedResourcesConformAsync(StandaloneHost host, string patientId, params string[] resourceTypes)
    {
        ArgumentNullException.ThrowIfNull(host);
        var produced = new List<Resource>();
        var problems = new List<string>();
        foreach (var type in resourceTypes)
        {
            using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/{type}?patient={Uri.EscapeDataString(patientId)}");
            using var response = await host.Client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{type} search: {(int)response.StatusCode} {text}");
            var bundle = Parser.Deserialize<Bundle>(text)!;
            var resources = bundle.Entry.Select(e => e.Resource!).ToList();
            Assert.True(resources.Count > 0, $"no {type} was produced for the patient");
            foreach (var resource in resources)
            {
                var claimed = (resource.Meta?.Profile ?? []).OfType<string>().ToList();
                if (!claimed.Any(p => p.StartsWith(ProfileValidator.CanonicalBase + "/", StringComparison.Ordinal)))
                {
                    problems.Add($"{type}/{resource.Id}: claims none of our profiles (meta.profile: {string.Join(", ", claimed)})");
                }

                var result = ProfileValidator.Shared.Validate(resource);
                problems.AddRange(result.Errors.Select(e => $"{type}/{resource.Id}: {e}"));
            }

            produced.AddRange(resources);
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        return produced;
    }
}
