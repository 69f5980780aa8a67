using System.Collections.ObjectModel;

namespace Engagement.Security.Smart;

/// <summary>SMART v2 interactions: create, read, update, delete, search.</summary>
[Flags]
public enum SmartInteraction
{
    None = 0,
    Create = 1,
    Read = 2,
    Update = 4,
    Delete = 8,
    Search = 16,
    All = Create | Read | Update | Delete | Search,
}

/// <summary>Whose data a scope covers: the patient in context, what the user may see, or the calling system.</summary>
public enum SmartScopeContext
{
    Patient,
    User,
    System,
}

/// <summary>One clinical scope, e.g. <c>patient/QuestionnaireResponse.cru</c> or <c>user/*.read</c>.</summary>
public sealed record SmartScope(SmartScopeContext Context, string ResourceType, SmartInteraction Interactions)
{
    public bool Covers(string resourceType, SmartInteraction interaction) =>
        (ResourceType == "*" || string.Equals(ResourceType, resourceType, StringComparison.Ordinal)) &&
        interaction != SmartInteraction.None && (Interactions & interaction) == interaction;

    /// <summary>
    /// Parses one scope in SMART v2 (<c>.cruds</c> letters, in that order) or v1 (<c>.read</c>, <c>.write</c>,
    /// <c>.*</c>) form. Not a clinical scope (<c>openid</c>, <c>launch/patient</c>…), malformed, or restricted by a
    /// query (<c>?category=…</c>, not supported: such a scope grants nothing rather than too much): null.
    /// </summary>
    public static SmartScope? Parse(string scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var slash = scope.IndexOf('/', StringComparison.Ordinal);
        var dot = scope.LastIndexOf('.');
        if (slash <= 0 || dot <= slash + 1 || dot == scope.Length - 1 || scope.Contains('?', StringComparison.Ordinal))
        {
            return null;
        }

        SmartScopeContext? context = scope[..slash] switch
        {
            "patient" => SmartScopeContext.Patient,
            "user" => SmartScopeContext.User,
            "system" => SmartScopeContext.System,
            _ => null,
        };
        var resourceType = scope[(slash + 1)..dot];
        if (context is null || !IsResourceType(resourceType))
        {
            return null;
        }

        var permissions = scope[(dot + 1)..];
        var interactions = permissions switch
        {
            "read" => SmartInteraction.Read | SmartInteraction.Search,
            "write" => SmartInteraction.Create | SmartInteraction.Update | SmartInteraction.Delete,
            "*" => SmartInteraction.All,
            _ => ParseV2(permissions),
        };
        return interactions == SmartInteraction.None ? null : new SmartScope(context.Value, resourceType, interactions);
    }

    private static bool IsResourceType(string value) =>
        value == "*" || (value.Length is > 0 and <= 64 && char.IsAsciiLetterUpper(value[0]) && value.All(char.IsAsciiLetter));

    private static SmartInteraction ParseV2(string permissions)
    {
        const string order = "cruds";
        var result = SmartInteraction.None;
        var last = -1;
        foreach (var c in permissions)
        {
            var index = order.IndexOf(c, StringComparison.Ordinal);
            if (index <= last)
            {
                return SmartInteraction.None; // unknown letter, repeated or out of order: not a v2 scope
            }

            last = index;
            result |= (SmartInteraction)(1 << index);
        }

        return result;
    }
}

/// <summary>The clinical scopes granted to a token (the <c>scope</c> claim, space-separated).</summary>
public sealed class SmartScopes
{
    public static readonly SmartScopes None = new([]);

    public SmartScopes(IEnumerable<SmartScope> scopes)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        Scopes = new ReadOnlyCollection<SmartScope>(scopes.ToList());
    }

    public IReadOnlyList<SmartScope> Scopes { get; }

    public static SmartScopes Parse(string? scope) =>
        string.IsNullOrWhiteSpace(scope)
            ? None
            : new SmartScopes(scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(SmartScope.Parse).OfType<SmartScope>());

    /// <summary>Whether any scope, in any context, allows the interaction on the resource type.</summary>
    public bool Allows(string resourceType, SmartInteraction interaction) =>
        Scopes.Any(s => s.Covers(resourceType, interaction));

    /// <summary>Whether a scope of the given context allows it.</summary>
    public bool Allows(string resourceType, SmartInteraction interaction, SmartScopeContext context) =>
        Scopes.Any(s => s.Context == context && s.Covers(resourceType, interaction));

    public override string ToString() =>
        string.Join(' ', Scopes.Select(s => $"{s.Context.ToString().ToLowerInvariant()}/{s.ResourceType}.{Letters(s.Interactions)}"));

    private static string Letters(SmartInteraction interactions) =>
        new("cruds".Where((_, i) => (interactions & (SmartInteraction)(1 << i)) != 0).ToArray());
}
