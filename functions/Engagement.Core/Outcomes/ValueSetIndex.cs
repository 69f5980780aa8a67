using Hl7.Fhir.Model;

namespace Engagement.Outcomes;

/// <summary>Membership of a ValueSet from its expansion, or else from compose.include/exclude concept lists.</summary>
internal sealed class ValueSetIndex
{
    private readonly HashSet<string> _codes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _excluded = new(StringComparer.Ordinal);
    private readonly HashSet<string> _wholeSystems = new(StringComparer.Ordinal);
    private readonly bool _hasFilters;

    public ValueSetIndex(ValueSet valueSet)
    {
        if (valueSet.Expansion?.Contains is { Count: > 0 } contains)
        {
            AddExpansion(contains);
            return;
        }

        foreach (var include in valueSet.Compose?.Include ?? [])
        {
            if (include.Filter.Count > 0 || include.ValueSet.Any())
            {
                _hasFilters = true;
            }
            else if (include.Concept.Count == 0 && include.System is not null)
            {
                _wholeSystems.Add(include.System);
            }

            foreach (var concept in include.Concept)
            {
                _codes.Add(Key(include.System, concept.Code));
            }
        }

        foreach (var exclude in valueSet.Compose?.Exclude ?? [])
        {
            foreach (var concept in exclude.Concept)
            {
                _excluded.Add(Key(exclude.System, concept.Code));
            }
        }
    }

    /// <summary>True or false when decidable; null when the value set needs filters we do not evaluate.</summary>
    public bool? Contains(Coding coding)
    {
        var key = Key(coding.System, coding.Code);
        if (_excluded.Contains(key))
        {
            return false;
        }

        if (_codes.Contains(key) || (coding.System is not null && _wholeSystems.Contains(coding.System)))
        {
            return true;
        }

        return _hasFilters ? null : false;
    }

    private void AddExpansion(List<ValueSet.ContainsComponent> contains)
    {
        foreach (var entry in contains)
        {
            if (entry.Code is not null && entry.Abstract != true && entry.Inactive != true)
            {
                _codes.Add(Key(entry.System, entry.Code));
            }

            AddExpansion(entry.Contains);
        }
    }

    private static string Key(string? system, string? code) => system + "|" + code;
}
