using System.Globalization;
using System.Text.Json.Serialization;

namespace Engagement.FollowUp;

/// <summary>The local times of day (inclusive) between which the patient may be contacted.</summary>
public readonly record struct ContactWindow
{
    [JsonConstructor]
    public ContactWindow(TimeOnly start, TimeOnly end)
    {
        if (end <= start)
        {
            throw new ArgumentException($"The contact window must end after it starts ({start:HH\\:mm}-{end:HH\\:mm}); windows across midnight are not supported.", nameof(end));
        }

        Start = start;
        End = end;
    }

    /// <summary>09:00 to 20:00.</summary>
    public static ContactWindow Default { get; } = new(new TimeOnly(9, 0), new TimeOnly(20, 0));

    /// <summary>Any time of day.</summary>
    public static ContactWindow AllDay { get; } = new(TimeOnly.MinValue, TimeOnly.MaxValue);

    public TimeOnly Start { get; }

    public TimeOnly End { get; }

    public static bool TryCreate(TimeOnly? start, TimeOnly? end, out ContactWindow window)
    {
        window = default;
        if (start is not { } s || end is not { } e || e <= s)
        {
            return false;
        }

        window = new ContactWindow(s, e);
        return true;
    }

    public bool Contains(TimeOnly time) => time >= Start && time <= End;

    /// <summary>
    /// <paramref name="instant"/> if its local time in <paramref name="zone"/> is inside the window; before the window
    /// it moves to the window start that day; after the window to the next day's window start.
    /// </summary>
    public DateTimeOffset MoveInto(DateTimeOffset instant, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var local = LocalTime.ToLocal(instant, zone);
        var time = TimeOnly.FromDateTime(local);
        if (Contains(time))
        {
            return instant.ToUniversalTime();
        }

        var day = DateOnly.FromDateTime(local);
        if (time > End)
        {
            day = day.AddDays(1);
        }

        return LocalTime.ToInstant(day.ToDateTime(Start), zone);
    }

    public override string ToString() =>
        $"{Start.ToString("HH:mm", CultureInfo.InvariantCulture)}-{End.ToString("HH:mm", CultureInfo.InvariantCulture)}";
}
