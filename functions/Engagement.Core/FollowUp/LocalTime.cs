namespace Engagement.FollowUp;

/// <summary>Wall-clock time in a patient's zone, resolved to instants with explicit rules for DST transitions.</summary>
internal static class LocalTime
{
    /// <summary>The local wall-clock time of <paramref name="instant"/> in <paramref name="zone"/>.</summary>
    public static DateTime ToLocal(DateTimeOffset instant, TimeZoneInfo zone) => TimeZoneInfo.ConvertTime(instant, zone).DateTime;

    /// <summary>
    /// The instant at wall-clock time <paramref name="local"/> in <paramref name="zone"/>. A time skipped by a
    /// spring-forward gap moves forward by the gap (02:30 becomes 03:30); a time that occurs twice in a fall-back
    /// overlap is its first occurrence (the daylight one).
    /// </summary>
    public static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            // The offset in force just before the gap puts the instant as far past the gap start as the wall time was.
            var before = zone.GetUtcOffset(local.AddHours(-3));
            return new DateTimeOffset(local.Ticks - before.Ticks, TimeSpan.Zero);
        }

        if (zone.IsAmbiguousTime(local))
        {
            var earliest = zone.GetAmbiguousTimeOffsets(local).Max();
            return new DateTimeOffset(local, earliest).ToUniversalTime();
        }

        return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUniversalTime();
    }
}
