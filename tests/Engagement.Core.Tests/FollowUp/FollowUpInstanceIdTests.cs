using System.Text.RegularExpressions;
using Engagement.FollowUp;

namespace Engagement.Core.Tests.FollowUp;

public partial class FollowUpInstanceIdTests
{
    [Fact]
    public void Same_inputs_give_the_same_id()
    {
        Assert.Equal(
            FollowUpInstanceId.For("post-discharge", "pat-es", "Encounter", "enc-1001"),
            FollowUpInstanceId.For("post-discharge", "pat-es", "Encounter", "enc-1001"));
    }

    [Fact]
    public void Id_is_pinned_so_a_code_change_cannot_silently_start_duplicate_runs()
    {
        // SHA-256 of "14:post-discharge;6:pat-es;9:Encounter;8:enc-1001;", first 16 bytes (checked outside .NET).
        Assert.Equal("fu-ac67284990b8449a8639f661c08a78cf", FollowUpInstanceId.For("post-discharge", "pat-es", "Encounter", "enc-1001"));
    }

    [Theory]
    [InlineData("depression-monitoring", "pat-es", "Encounter", "enc-1001")]
    [InlineData("post-discharge", "pat-other", "Encounter", "enc-1001")]
    [InlineData("post-discharge", "pat-es", "Appointment", "enc-1001")]
    [InlineData("post-discharge", "pat-es", "Encounter", "enc-1002")]
    [InlineData("post-discharge", "pat-e", "sEncounter", "enc-1001")]
    public void Any_different_input_gives_a_different_id(string protocol, string patient, string type, string id)
    {
        Assert.NotEqual(
            FollowUpInstanceId.For("post-discharge", "pat-es", "Encounter", "enc-1001"),
            FollowUpInstanceId.For(protocol, patient, type, id));
    }

    [Theory]
    [InlineData("post-discharge", "pat-es", "Encounter", "enc-1001")]
    [InlineData("p", "Patient/with/slashes#and?query\\", "Encounter", "id with spaces")]
    [InlineData("p", "Zoë Ñandú", "Encounter", "ü")]
    public void Id_is_short_lowercase_hex_and_reveals_no_input(string protocol, string patient, string type, string id)
    {
        var instanceId = FollowUpInstanceId.For(protocol, patient, type, id);

        Assert.Matches(ValidId(), instanceId);
        Assert.DoesNotContain(patient, instanceId, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(id, instanceId, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Missing_input_is_refused()
    {
        Assert.ThrowsAny<ArgumentException>(() => FollowUpInstanceId.For("post-discharge", "", "Encounter", "enc-1"));
    }

    [GeneratedRegex("^fu-[0-9a-f]{32}$")]
    private static partial Regex ValidId();
}
