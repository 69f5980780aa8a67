using Engagement.Conversations;

namespace Engagement.Core.Tests.Conversations;

/// <summary>The reply keywords of issue 6 (STOP / START / HELP and their Spanish forms) as patients type them.</summary>
public sealed class ReplyKeywordsTests
{
    [Theory]
    [InlineData("STOP", KeywordIntent.OptOut, "en")]
    [InlineData("stop", KeywordIntent.OptOut, "en")]
    [InlineData("  Stop. ", KeywordIntent.OptOut, "en")]
    [InlineData("UNSUBSCRIBE", KeywordIntent.OptOut, "en")]
    [InlineData("BAJA", KeywordIntent.OptOut, "es")]
    [InlineData("¡Baja!", KeywordIntent.OptOut, "es")]
    [InlineData("CANCELAR", KeywordIntent.OptOut, "es")]
    [InlineData("START", KeywordIntent.OptIn, "en")]
    [InlineData("start!", KeywordIntent.OptIn, "en")]
    [InlineData("ALTA", KeywordIntent.OptIn, "es")]
    [InlineData("Alta", KeywordIntent.OptIn, "es")]
    [InlineData("INICIAR", KeywordIntent.OptIn, "es")]
    [InlineData("HELP", KeywordIntent.Help, "en")]
    [InlineData("help?", KeywordIntent.Help, "en")]
    [InlineData("AYUDA", KeywordIntent.Help, "es")]
    [InlineData("¿Ayuda?", KeywordIntent.Help, "es")]
    public void Keywords_are_matched_whatever_the_case_spacing_and_punctuation_with_their_language(string text, KeywordIntent intent, string language)
    {
        Assert.Equal((intent, language), ReplyKeywords.Match(text, answersAppointmentReminder: false));
    }

    [Theory]
    [InlineData("please stop calling me at work")] // a sentence is a question for the care team, not a keyword
    [InlineData("3")]
    [InlineData("")]
    [InlineData("STOPP")]
    [InlineData("yes")] // a confirmation only in reply to an appointment reminder
    public void Other_text_is_no_keyword(string text)
    {
        Assert.Equal((KeywordIntent.None, (string?)null), ReplyKeywords.Match(text, answersAppointmentReminder: false));
    }

    [Theory]
    [InlineData("YES", KeywordIntent.Confirm)]
    [InlineData("Sí", KeywordIntent.Confirm)]
    [InlineData("si", KeywordIntent.Confirm)]
    [InlineData("C", KeywordIntent.Confirm)]
    [InlineData("NO", KeywordIntent.Cancel)]
    [InlineData("cancel", KeywordIntent.Cancel)] // an appointment cancellation here, an opt-out elsewhere
    [InlineData("CANCELAR", KeywordIntent.Cancel)]
    [InlineData("STOP", KeywordIntent.OptOut)] // STOP stays an opt-out everywhere
    [InlineData("AYUDA", KeywordIntent.Help)]
    public void In_reply_to_an_appointment_reminder_confirm_and_cancel_come_first(string text, KeywordIntent intent)
    {
        Assert.Equal(intent, ReplyKeywords.Match(text, answersAppointmentReminder: true).Intent);
    }

    [Fact]
    public void Cancel_outside_an_appointment_reminder_is_an_opt_out()
    {
        Assert.Equal((KeywordIntent.OptOut, "en"), ReplyKeywords.Match("CANCEL", answersAppointmentReminder: false));
    }
}
