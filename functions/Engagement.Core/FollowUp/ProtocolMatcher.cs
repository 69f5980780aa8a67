using Hl7.Fhir.Model;

namespace Engagement.FollowUp;

/// <summary>Which protocols a changed resource or a named event starts.</summary>
public static class ProtocolMatcher
{
    /// <summary>
    /// The protocols with a trigger that fires: a data trigger for the resource's type, or a named-event trigger
    /// for <paramref name="eventName"/>; either way its condition (FHIRPath with <c>%resource</c> = the resource)
    /// must be true. A condition that fails to evaluate does not fire. Each protocol is returned once, in input order.
    /// </summary>
    public static IReadOnlyList<ProtocolDefinition> Match(IEnumerable<ProtocolDefinition> protocols, Resource changed, string? eventName = null)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        ArgumentNullException.ThrowIfNull(changed);
        return [.. protocols.Where(p => p.Triggers.Any(t => Fires(t, changed, eventName)))];
    }

    /// <summary>True when <paramref name="trigger"/> fires for <paramref name="changed"/> (and <paramref name="eventName"/>).</summary>
    public static bool Fires(ProtocolTrigger trigger, Resource changed, string? eventName)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(changed);
        var applies = trigger.Kind switch
        {
            ProtocolTriggerKind.DataChanged => trigger.Name == changed.TypeName,
            ProtocolTriggerKind.NamedEvent => eventName is not null && trigger.Name == eventName,
            _ => false,
        };
        return applies && ConditionHolds(trigger.Condition, changed);
    }

    private static bool ConditionHolds(FhirPathExpression? condition, Resource changed)
    {
        if (condition is null)
        {
            return true;
        }

        try
        {
            return condition.IsTrue(changed);
        }
        catch (InvalidOperationException)
        {
            // e.g. a path that yields several values where one is expected: the protocol's condition does not hold.
            return false;
        }
        catch (InvalidCastException)
        {
            return false;
        }
    }
}
