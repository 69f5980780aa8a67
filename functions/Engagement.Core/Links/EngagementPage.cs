using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Engagement.Http;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Links;

/// <summary>
/// The patient-facing HTML for <c>GET /engage/{token}</c>: English or Spanish (Accept-Language), mobile-first,
/// accessible, and never showing patient details or the token. For a valid link it is a shell: the title, the form
/// container, the submit button and the page's texts as a JSON data block; <c>static/engage/engage.js</c> loads the
/// translated Questionnaire from <c>GET /api/engage/{token}</c>, renders it with LHC-Forms (our own static copy, no
/// CDN) and submits the QuestionnaireResponse. A strict CSP: scripts and styles from 'self' only (LHC-Forms inserts
/// style elements at run time, so styles also allow 'unsafe-inline'; scripts never do).
/// </summary>
public static class EngagementPage
{
    public const string English = "en";
    public const string Spanish = "es";

    // Text stays readable UTF-8 (á, ñ, …); markup characters are still encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    /// <summary>The supported language for a tag (<c>es</c>, <c>es-MX</c> → es), or null.</summary>
    public static string? Supported(string? tag)
    {
        var primary = (tag ?? string.Empty).Split('-')[0].Trim().ToLowerInvariant();
        return primary is Spanish or English ? primary : null;
    }

    /// <summary>Spanish when the client prefers it over English (by q-value, then order); otherwise English.</summary>
    public static string ChooseLanguage(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var ranges = request.GetTypedHeaders().AcceptLanguage;
        if (ranges is null)
        {
            return English;
        }

        foreach (var range in ranges.Where(r => (r.Quality ?? 1) > 0).OrderByDescending(r => r.Quality ?? 1))
        {
            var tag = range.Value.Value ?? string.Empty;
            var primary = tag.Split('-')[0].ToLowerInvariant();
            if (primary is Spanish or English)
            {
                return primary;
            }
        }

        return English;
    }

    public static IResult Failure(LinkFailure failure, string language)
    {
        var es = language == Spanish;
        var (heading, body) = failure switch
        {
            LinkFailure.Used => es
                ? ("Ya recibimos sus respuestas", "Este enlace ya se usó para enviar sus respuestas. Gracias. No necesita hacer nada más.")
                : ("We already have your answers", "This link was already used to send your answers. Thank you. There is nothing more you need to do."),
            LinkFailure.Expired => es
                ? ("Este enlace ha vencido", "Por su seguridad, los enlaces funcionan solo por un tiempo limitado. Si aún necesita completar el formulario, comuníquese con su equipo de atención para recibir un enlace nuevo.")
                : ("This link has expired", "For your security, links only work for a limited time. If you still need to fill in the form, contact your care team for a new link."),
            LinkFailure.Forged => es
                ? ("No pudimos abrir este enlace", "Revise que el enlace esté completo, tal como lo recibió. Si el problema continúa, comuníquese con su equipo de atención.")
                : ("We could not open this link", "Check that the link is complete, exactly as you received it. If it still does not work, contact your care team."),
            _ => es
                ? ("Este enlace ya no está disponible", "Si necesita completar un formulario, comuníquese con su equipo de atención para recibir un enlace nuevo.")
                : ("This link is no longer available", "If you need to fill in a form, contact your care team for a new link."),
        };
        var status = failure == LinkFailure.Forged ? StatusCodes.Status401Unauthorized : StatusCodes.Status410Gone;
        return new HtmlResult(Render(language, heading, body, role: "alert"), language, status, FailurePolicy);
    }

    /// <summary>The page for a valid link: the shell the page script fills with the form, the preferences and the follow-ups.</summary>
    public static IResult Questionnaire(string? title, string language, StaticAssets assets) => Shell(title, language, assets, answered: false);

    /// <summary>
    /// The page for a link whose one response was already sent (and that has neither expired nor been revoked): no
    /// form, "we already have your answers", and the patient's preferences and follow-ups, which stay available. The
    /// status stays 410 as for every used link (CONTRACT.md: the questionnaire behind it is gone); browsers render it.
    /// </summary>
    public static IResult Answered(string language, StaticAssets assets) => Shell(null, language, assets, answered: true);

    private static HtmlResult Shell(string? title, string language, StaticAssets assets, bool answered)
    {
        ArgumentNullException.ThrowIfNull(assets);
        var es = language == Spanish;
        var texts = es ? SpanishTexts : EnglishTexts;
        var heading = answered ? texts["answeredTitle"] : string.IsNullOrWhiteSpace(title) ? (es ? "Su cuestionario" : "Your questionnaire") : title;
        var html = Encoder;
        var sb = new StringBuilder();
        sb.Append("<!doctype html>\n<html lang=\"").Append(language).Append("\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<meta name=\"robots\" content=\"noindex\">\n")
          .Append("<title>").Append(html.Encode(heading)).Append("</title>\n");
        if (!answered)
        {
            sb.Append("<link rel=\"stylesheet\" href=\"").Append(html.Encode(assets.Url("lforms/styles.css"))).Append("\">\n");
        }

        sb.Append("<link rel=\"stylesheet\" href=\"").Append(html.Encode(assets.Url("engage/engage.css"))).Append("\">\n");
        if (!answered)
        {
            sb.Append("<script src=\"").Append(html.Encode(assets.Url("lforms/assets/lib/zone.min.js"))).Append("\" defer></script>\n")
              .Append("<script src=\"").Append(html.Encode(assets.Url("lforms/lhc-forms.js"))).Append("\" defer></script>\n")
              .Append("<script src=\"").Append(html.Encode(assets.Url("lforms/fhir/R4/lformsFHIR.min.js"))).Append("\" defer></script>\n");
        }

        sb.Append("<script src=\"").Append(html.Encode(assets.Url("engage/engage.js"))).Append("\" defer></script>\n")
          .Append("</head>\n<body>\n<main id=\"engage\" tabindex=\"-1\" data-mode=\"").Append(answered ? "answered" : "form").Append("\">\n<h1>").Append(html.Encode(heading)).Append("</h1>\n");
        if (answered)
        {
            sb.Append("<p id=\"engage-answered\">").Append(html.Encode(texts["answeredBody"])).Append("</p>\n")
              .Append("<p id=\"engage-status\" role=\"status\" aria-live=\"polite\"></p>\n")
              .Append("<noscript><p>").Append(html.Encode(texts["noscript"])).Append("</p></noscript>\n");
        }
        else
        {
            sb.Append("<p id=\"engage-status\" role=\"status\" aria-live=\"polite\">").Append(html.Encode(texts["loading"])).Append("</p>\n")
              .Append("<noscript><p>").Append(html.Encode(texts["noscript"])).Append("</p></noscript>\n")
              .Append("<div id=\"engage-errors\" class=\"engage-errors\" role=\"alert\" tabindex=\"-1\" hidden></div>\n")
              .Append("<form id=\"engage-form\" novalidate hidden>\n<div id=\"engage-lforms\"></div>\n")
              .Append("<button type=\"submit\" id=\"engage-submit\" class=\"engage-submit\">").Append(html.Encode(texts["submit"])).Append("</button>\n</form>\n")
              .Append("<section id=\"engage-done\" class=\"engage-done\" tabindex=\"-1\" hidden></section>\n");
        }

        AppendPreferencesAndFollowUps(sb, texts);
        // Data, not script: a JSON block is never executed, so the CSP needs no 'unsafe-inline' for scripts.
        sb.Append("<script type=\"application/json\" id=\"engage-texts\">")
          .Append(JsonSerializer.Serialize(texts).Replace("<", "\\u003c", StringComparison.Ordinal)).Append("</script>\n")
          .Append("</main>\n</body>\n</html>\n");
        return new HtmlResult(sb.ToString(), language, answered ? StatusCodes.Status410Gone : StatusCodes.Status200OK, FormPolicy);
    }

    /// <summary>
    /// "Your preferences" (channel, language, contact window with the time zone shown) and "Your follow-ups" (coming up,
    /// past answers): labelled controls, native inputs, filled and saved by the page script through
    /// <c>/api/engage/{token}/preferences</c> and <c>/overview</c>. Hidden until the script has loaded them.
    /// </summary>
    private static void AppendPreferencesAndFollowUps(StringBuilder sb, Dictionary<string, string> texts)
    {
        var html = Encoder;
        sb.Append("<section id=\"engage-prefs\" class=\"engage-card\" aria-labelledby=\"engage-prefs-title\" hidden>\n")
          .Append("<h2 id=\"engage-prefs-title\">").Append(html.Encode(texts["prefsTitle"])).Append("</h2>\n")
          .Append("<p>").Append(html.Encode(texts["prefsIntro"])).Append("</p>\n")
          .Append("<div id=\"engage-prefs-errors\" class=\"engage-errors\" role=\"alert\" tabindex=\"-1\" hidden></div>\n")
          .Append("<form id=\"engage-prefs-form\" novalidate>\n")
          .Append("<fieldset id=\"engage-pref-channels\" class=\"engage-fieldset\"><legend>").Append(html.Encode(texts["prefsChannel"])).Append("</legend></fieldset>\n")
          .Append("<div class=\"engage-field\"><label for=\"engage-pref-language\">").Append(html.Encode(texts["prefsLanguage"])).Append("</label>\n")
          .Append("<select id=\"engage-pref-language\" name=\"language\"></select></div>\n")
          .Append("<fieldset class=\"engage-fieldset\" aria-describedby=\"engage-pref-zone\"><legend>").Append(html.Encode(texts["prefsWindow"])).Append("</legend>\n")
          .Append("<div class=\"engage-times\">\n")
          .Append("<div class=\"engage-field\"><label for=\"engage-pref-start\">").Append(html.Encode(texts["prefsFrom"])).Append("</label>")
          .Append("<input type=\"time\" id=\"engage-pref-start\" name=\"start\" required></div>\n")
          .Append("<div class=\"engage-field\"><label for=\"engage-pref-end\">").Append(html.Encode(texts["prefsUntil"])).Append("</label>")
          .Append("<input type=\"time\" id=\"engage-pref-end\" name=\"end\" required></div>\n")
          .Append("</div>\n<p id=\"engage-pref-zone\" class=\"engage-hint\"></p>\n</fieldset>\n")
          .Append("<button type=\"submit\" id=\"engage-prefs-save\" class=\"engage-submit\">").Append(html.Encode(texts["prefsSave"])).Append("</button>\n")
          .Append("<p id=\"engage-prefs-status\" class=\"engage-hint\" role=\"status\" aria-live=\"polite\"></p>\n")
          .Append("</form>\n</section>\n")
          .Append("<section id=\"engage-followups\" class=\"engage-card\" aria-labelledby=\"engage-followups-title\" hidden>\n")
          .Append("<h2 id=\"engage-followups-title\">").Append(html.Encode(texts["followUpsTitle"])).Append("</h2>\n")
          .Append("<p id=\"engage-followups-zone\" class=\"engage-hint\"></p>\n")
          .Append("<h3 id=\"engage-upcoming-title\">").Append(html.Encode(texts["upcomingTitle"])).Append("</h3>\n")
          .Append("<ul id=\"engage-upcoming\" class=\"engage-list\" aria-labelledby=\"engage-upcoming-title\"></ul>\n")
          .Append("<h3 id=\"engage-responses-title\">").Append(html.Encode(texts["responsesTitle"])).Append("</h3>\n")
          .Append("<ul id=\"engage-responses\" class=\"engage-list\" aria-labelledby=\"engage-responses-title\"></ul>\n")
          .Append("</section>\n");
    }

    /// <summary>The form page's CSP: everything from 'self'; inline styles only because LHC-Forms inserts them.</summary>
    public const string FormPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string FailurePolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Dictionary<string, string> EnglishTexts = new(StringComparer.Ordinal)
    {
        ["loading"] = "Loading your form…",
        ["noscript"] = "This form needs JavaScript. Please turn it on, or contact your care team.",
        ["ready"] = "Please answer each question, then select Send my answers.",
        ["submit"] = "Send my answers",
        ["sending"] = "Sending your answers…",
        ["doneTitle"] = "Thank you — we have your answers",
        ["doneBody"] = "Your care team will see them. There is nothing more you need to do.",
        ["score"] = "Your total score: {0}.",
        ["band.minimal"] = "This score suggests minimal symptoms.",
        ["band.mild"] = "This score suggests mild symptoms.",
        ["band.moderate"] = "This score suggests moderate symptoms.",
        ["band.moderately-severe"] = "This score suggests moderately severe symptoms.",
        ["band.severe"] = "This score suggests severe symptoms.",
        ["redFlags"] = "Your care team has been asked to contact you soon. If you are in danger or thinking of harming yourself, call your local emergency number now.",
        ["invalid"] = "Some answers need attention before we can save them:",
        ["used"] = "This link was already used to send your answers. There is nothing more you need to do.",
        ["gone"] = "This link is no longer available. Please contact your care team for a new link.",
        ["unauthorized"] = "We could not open this link. Please contact your care team.",
        ["failed"] = "Something went wrong while sending your answers. Please try again in a moment.",
        ["loadFailed"] = "We could not load your form. Please try again in a moment.",
        ["answeredTitle"] = "We already have your answers",
        ["answeredBody"] = "This link was already used to send your answers. Thank you. You can still check your preferences and follow-ups below.",
        ["prefsTitle"] = "Your preferences",
        ["prefsIntro"] = "How, in which language and when we contact you about your follow-ups.",
        ["prefsChannel"] = "How we contact you",
        ["prefsLanguage"] = "Language",
        ["prefsWindow"] = "When we may contact you",
        ["prefsFrom"] = "From",
        ["prefsUntil"] = "Until",
        ["prefsZone"] = "Times are in your time zone: {0}.",
        ["prefsSave"] = "Save my preferences",
        ["prefsSaving"] = "Saving your preferences…",
        ["prefsSaved"] = "Your preferences are saved. Our next messages will follow them.",
        ["prefsInvalid"] = "Your preferences were not saved:",
        ["prefsWindowOrder"] = "The end time must be later than the start time.",
        ["prefsUnknown"] = "We do not have your contact details yet, so your preferences cannot be changed. Please try again later.",
        ["prefsNoChannel"] = "We have no way to contact you yet.",
        ["prefsFailed"] = "We could not load or save your preferences. Please try again in a moment.",
        ["channel.sms"] = "Text message (SMS)",
        ["channel.email"] = "Email",
        ["channel.push"] = "Notification in the app",
        ["channel.portal"] = "Patient portal",
        ["language.en"] = "English",
        ["language.es"] = "Español (Spanish)",
        ["followUpsTitle"] = "Your follow-ups",
        ["followUpsZone"] = "Dates and times are in your time zone: {0}.",
        ["upcomingTitle"] = "Coming up",
        ["responsesTitle"] = "Your answers so far",
        ["noUpcoming"] = "Nothing is planned for you right now.",
        ["noResponses"] = "You have not sent any answers yet.",
        ["status.scheduled"] = "Planned",
        ["status.open"] = "Waiting for your answers",
    };

    private static readonly Dictionary<string, string> SpanishTexts = new(StringComparer.Ordinal)
    {
        ["loading"] = "Cargando su formulario…",
        ["noscript"] = "Este formulario necesita JavaScript. Actívelo o comuníquese con su equipo de atención.",
        ["ready"] = "Responda cada pregunta y luego seleccione Enviar mis respuestas.",
        ["submit"] = "Enviar mis respuestas",
        ["sending"] = "Enviando sus respuestas…",
        ["doneTitle"] = "Gracias, ya tenemos sus respuestas",
        ["doneBody"] = "Su equipo de atención las verá. No necesita hacer nada más.",
        ["score"] = "Su puntuación total: {0}.",
        ["band.minimal"] = "Esta puntuación indica síntomas mínimos.",
        ["band.mild"] = "Esta puntuación indica síntomas leves.",
        ["band.moderate"] = "Esta puntuación indica síntomas moderados.",
        ["band.moderately-severe"] = "Esta puntuación indica síntomas moderadamente graves.",
        ["band.severe"] = "Esta puntuación indica síntomas graves.",
        ["redFlags"] = "Le pedimos a su equipo de atención que se comunique con usted pronto. Si está en peligro o piensa en hacerse daño, llame ahora al número de emergencias local.",
        ["invalid"] = "Algunas respuestas necesitan atención antes de poder guardarlas:",
        ["used"] = "Este enlace ya se usó para enviar sus respuestas. No necesita hacer nada más.",
        ["gone"] = "Este enlace ya no está disponible. Comuníquese con su equipo de atención para recibir un enlace nuevo.",
        ["unauthorized"] = "No pudimos abrir este enlace. Comuníquese con su equipo de atención.",
        ["failed"] = "Algo salió mal al enviar sus respuestas. Inténtelo de nuevo en un momento.",
        ["loadFailed"] = "No pudimos cargar su formulario. Inténtelo de nuevo en un momento.",
        ["answeredTitle"] = "Ya recibimos sus respuestas",
        ["answeredBody"] = "Este enlace ya se usó para enviar sus respuestas. Gracias. Aún puede revisar sus preferencias y seguimientos a continuación.",
        ["prefsTitle"] = "Sus preferencias",
        ["prefsIntro"] = "Cómo, en qué idioma y cuándo nos comunicamos con usted sobre sus seguimientos.",
        ["prefsChannel"] = "Cómo nos comunicamos con usted",
        ["prefsLanguage"] = "Idioma",
        ["prefsWindow"] = "Cuándo podemos comunicarnos con usted",
        ["prefsFrom"] = "Desde",
        ["prefsUntil"] = "Hasta",
        ["prefsZone"] = "Las horas están en su zona horaria: {0}.",
        ["prefsSave"] = "Guardar mis preferencias",
        ["prefsSaving"] = "Guardando sus preferencias…",
        ["prefsSaved"] = "Sus preferencias están guardadas. Nuestros próximos mensajes las seguirán.",
        ["prefsInvalid"] = "Sus preferencias no se guardaron:",
        ["prefsWindowOrder"] = "La hora de fin debe ser posterior a la hora de inicio.",
        ["prefsUnknown"] = "Todavía no tenemos sus datos de contacto, así que no se pueden cambiar sus preferencias. Inténtelo de nuevo más tarde.",
        ["prefsNoChannel"] = "Todavía no tenemos cómo comunicarnos con usted.",
        ["prefsFailed"] = "No pudimos cargar ni guardar sus preferencias. Inténtelo de nuevo en un momento.",
        ["channel.sms"] = "Mensaje de texto (SMS)",
        ["channel.email"] = "Correo electrónico",
        ["channel.push"] = "Notificación en la aplicación",
        ["channel.portal"] = "Portal del paciente",
        ["language.en"] = "English (inglés)",
        ["language.es"] = "Español",
        ["followUpsTitle"] = "Sus seguimientos",
        ["followUpsZone"] = "Las fechas y horas están en su zona horaria: {0}.",
        ["upcomingTitle"] = "Próximamente",
        ["responsesTitle"] = "Sus respuestas hasta ahora",
        ["noUpcoming"] = "No hay nada planificado para usted en este momento.",
        ["noResponses"] = "Todavía no ha enviado respuestas.",
        ["status.scheduled"] = "Planificado",
        ["status.open"] = "Esperando sus respuestas",
    };

    private static string Render(string language, string heading, string body, string role)
    {
        var html = Encoder;
        var sb = new StringBuilder();
        sb.Append("<!doctype html>\n<html lang=\"").Append(language).Append("\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<meta name=\"robots\" content=\"noindex\">\n")
          .Append("<title>").Append(html.Encode(heading)).Append("</title>\n")
          .Append("<style>body{margin:0;font-family:system-ui,sans-serif;font-size:1.125rem;line-height:1.5;color:#1a1a1a;background:#fff}")
          .Append("main{max-width:40rem;margin:0 auto;padding:1.5rem 1rem}h1{font-size:1.5rem;line-height:1.3}")
          .Append("@media (prefers-color-scheme:dark){body{color:#f2f2f2;background:#121212}}</style>\n")
          .Append("</head>\n<body>\n<main>\n<h1>").Append(html.Encode(heading)).Append("</h1>\n")
          .Append("<p role=\"").Append(role).Append("\">").Append(html.Encode(body)).Append("</p>\n")
          .Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private sealed class HtmlResult(string html, string language, int statusCode, string policy) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => statusCode;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = "text/html; charset=utf-8";
            // The URL holds the token: never cache the page, never send the URL on as a Referer.
            response.Headers.CacheControl = "no-store";
            response.Headers[HeaderNames.ContentSecurityPolicy] = policy;
            response.Headers["Referrer-Policy"] = "no-referrer";
            response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
            response.Headers[HeaderNames.ContentLanguage] = language;
            response.Headers.Vary = HeaderNames.AcceptLanguage;
            await response.WriteAsync(html, Encoding.UTF8, httpContext.RequestAborted);
        }
    }
}
