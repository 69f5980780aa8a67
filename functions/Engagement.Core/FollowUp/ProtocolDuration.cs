using System.Globalization;
using Hl7.Fhir.Model;

namespace Engagement.FollowUp;

/// <summary>The UCUM units a protocol may use for offsets, periods and windows.</summary>
public enum ProtocolTimeUnit
{
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
}

/// <summary>
/// A signed length of protocol time. Minutes and hours are elapsed time; days, weeks and months are calendar units
/// in the patient's time zone (day 2 is the local calendar day two days after the anchor, whatever DST does).
/// </summary>
public readonly record struct ProtocolDuration(decimal Value, ProtocolTimeUnit Unit)
{
    public static ProtocolDuration Days(int days) => new(days, ProtocolTimeUnit.Days);

    public static ProtocolDuration Hours(decimal hours) => new(hours, ProtocolTimeUnit.Hours);

    public bool IsCalendar => Unit is ProtocolTimeUnit.Days or ProtocolTimeUnit.Weeks or ProtocolTimeUnit.Months;

    public bool IsPositive => Value > 0;

    public bool IsNegative => Value < 0;

    /// <summary>The duration times <paramref name="factor"/> (for the k-th occurrence of a recurrence).</summary>
    public ProtocolDuration Times(int factor) => this with { Value = Value * factor };

    /// <summary>Whole calendar days for day and week units (months are kept as months).</summary>
    internal int WholeDays => Unit switch
    {
        ProtocolTimeUnit.Days => (int)Value,
        ProtocolTimeUnit.Weeks => (int)Value * 7,
        _ => throw new InvalidOperationException($"{Unit} is not a day-based unit."),
    };

    /// <summary>Elapsed time for minute and hour units.</summary>
    internal TimeSpan Elapsed => Unit switch
    {
        ProtocolTimeUnit.Minutes => TimeSpan.FromMinutes((double)Value),
        ProtocolTimeUnit.Hours => TimeSpan.FromHours((double)Value),
        _ => throw new InvalidOperationException($"{Unit} is a calendar unit."),
    };

    /// <summary>The UCUM code (<c>min</c>, <c>h</c>, <c>d</c>, <c>wk</c>, <c>mo</c>).</summary>
    public string UcumCode => Unit switch
    {
        ProtocolTimeUnit.Minutes => "min",
        ProtocolTimeUnit.Hours => "h",
        ProtocolTimeUnit.Days => "d",
        ProtocolTimeUnit.Weeks => "wk",
        _ => "mo",
    };

    public override string ToString() => $"{Value.ToString(CultureInfo.InvariantCulture)} {UcumCode}";

    /// <summary>Reads a UCUM unit code; <c>null</c> when the unit is not one a protocol may use.</summary>
    public static ProtocolTimeUnit? UnitFromUcum(string? code) => code switch
    {
        "min" => ProtocolTimeUnit.Minutes,
        "h" => ProtocolTimeUnit.Hours,
        "d" => ProtocolTimeUnit.Days,
        "wk" => ProtocolTimeUnit.Weeks,
        "mo" => ProtocolTimeUnit.Months,
        _ => null,
    };

    /// <summary>Reads a FHIR Timing unit (<c>periodUnit</c>).</summary>
    public static ProtocolTimeUnit? UnitFromTiming(Timing.UnitsOfTime? unit) => unit switch
    {
        Timing.UnitsOfTime.Min => ProtocolTimeUnit.Minutes,
        Timing.UnitsOfTime.H => ProtocolTimeUnit.Hours,
        Timing.UnitsOfTime.D => ProtocolTimeUnit.Days,
        Timing.UnitsOfTime.Wk => ProtocolTimeUnit.Weeks,
        Timing.UnitsOfTime.Mo => ProtocolTimeUnit.Months,
        _ => null,
    };

    /// <summary>
    /// Reads a FHIR Duration. Returns a message saying what is wrong instead when it is not a UCUM duration in one
    /// of the protocol units, or when a calendar unit has a fractional value.
    /// </summary>
    public static bool TryFrom(Duration? duration, out ProtocolDuration result, out string? problem)
    {
        result = default;
        if (duration?.Value is not { } value)
        {
            problem = "a Duration with a value is required";
            return false;
        }

        if (duration.System is { } system && system != ProtocolUrls.Ucum)
        {
            problem = $"Duration.system must be {ProtocolUrls.Ucum}";
            return false;
        }

        var code = duration.Code ?? duration.Unit;
        if (UnitFromUcum(code) is not { } unit)
        {
            problem = $"Duration unit '{code}' is not one of min, h, d, wk, mo";
            return false;
        }

        return TryCreate(value, unit, out result, out problem);
    }

    internal static bool TryCreate(decimal value, ProtocolTimeUnit unit, out ProtocolDuration result, out string? problem)
    {
        result = new ProtocolDuration(value, unit);
        if (result.IsCalendar && decimal.Truncate(value) != value)
        {
            problem = $"{result} is not a whole number of calendar units; use h or min for fractions";
            return false;
        }

        problem = null;
        return true;
    }

    /// <summary>A FHIR Duration (UCUM) for this value.</summary>
    public Duration ToFhir() => new() { Value = Value, Unit = UcumCode, System = ProtocolUrls.Ucum, Code = UcumCode };
}
