using Engagement.Outreach;

namespace Engagement.Integration.Tests.Outreach;

public sealed class MessageTemplateTests
{
    private static readonly MessageTemplates Templates = new();
    private static readonly Dictionary<string, string> LinkOnly = new() { ["link"] = "https://x.test/engage/t", ["minutes"] = "3" };

    [Fact]
    public void Spanish_preferring_patient_gets_the_Spanish_text()
    {
        var text = Templates.Render("questionnaire", "es", LinkOnly);
        Assert.StartsWith("Su equipo de atención", text, StringComparison.Ordinal);
        Assert.EndsWith("https://x.test/engage/t", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("es-MX", "es")]
    [InlineData("ES", "es")]
    [InlineData("fr", "en")]
    [InlineData(null, "en")]
    public void Language_falls_back_to_its_base_then_to_English(string? preferred, string expected) =>
        Assert.Equal(expected, Templates.ResolveLanguage(preferred));

    [Fact]
    public void A_missing_parameter_is_an_error_not_a_half_filled_message()
    {
        var error = Assert.Throws<ArgumentException>(() => Templates.Render("questionnaire", "en", new Dictionary<string, string>()));
        Assert.Contains("minutes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_template_exists_in_every_language_with_the_same_placeholders()
    {
        foreach (var language in Templates.Languages)
        {
            foreach (var code in new[] { "questionnaire", "questionnaire-reminder", "checkin", "checkin-reminder", "education", "appointment-reminder", "appointment-reminder-reminder", "optout-confirmation", "optin-confirmation", "help", "escalation" })
            {
                var parameters = new Dictionary<string, string> { ["link"] = "L", ["minutes"] = "M", ["date"] = "D", ["time"] = "T", ["reason"] = "R" };
                var text = Templates.Render(code, language, parameters);
                Assert.DoesNotContain("{", text, StringComparison.Ordinal);
            }
        }

        Assert.Contains("es", Templates.Languages);
    }
}
