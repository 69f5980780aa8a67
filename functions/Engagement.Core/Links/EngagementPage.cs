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

    /// <summary>The page for a valid link: the shell the page script fills with the form.</summary>
    public static IResult Questionnaire(string? title, string language, StaticAssets assets)
    {
        ArgumentNullException.ThrowIfNull(assets);
        var es = language == Spanish;
        var heading = string.IsNullOrWhiteSpace(title) ? (es ? "Su cuestionario" : "Your questionnaire") : title;
        var texts = es ? SpanishTexts : EnglishTexts;
        var html = Encoder;
        var sb = new StringBuilder();
        sb.Append("<!doctype html>\n<html lang=\"").Append(language).Append("\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<meta name=\"robots\" content=\"noindex\">\n")
          .Append("<title>").Append(html.Encode(heading)).Append("</title>\n")
          .Append("<link rel=\"stylesheet\" href=\"").Append(html.Encode(assets.Url("lforms/styles.css"))).Append("\">\n")
          .Append("<link rel=\"stylesheet\" href=\"").Append(html.Encode(assets.Url("engage/engage.css"))).Append("\">\n")
          .Append("<script src=\"").Append(html.Encode(assets.Url("lforms/assets/lib/zone.min.js"))).Append("\" defer></script>\n")
          .Append("<script src=\"").Append(html.Encode(assets.Url("lforms/lhc-forms.js"))).Append("\" defer></script>\n")
          .Append("<script src=\"").Append(html.Encode(assets.Url("lforms/fhir/R4/lformsFHIR.min.js"))).Append("\" defer></script>\n")
          .Append("<script src=\"").Append(html.Encode(assets.Url("engage/engage.js"))).Append("\" defer></script>\n")
          .Append("</head>\n<body>\n<main id=\"engage\" tabindex=\"-1\">\n<h1>").Append(html.Encode(heading)).Append("</h1>\n")
          .Append("<p id=\"engage-status\" role=\"status\" aria-live=\"polite\">").Append(html.Encode(texts["loading"])).Append("</p>\n")
          .Append("<noscript><p>").Append(html.Encode(texts["noscript"])).Append("</p></noscript>\n")
          .Append("<div id=\"engage-errors\" class=\"engage-errors\" role=\"alert\" tabindex=\"-1\" hidden></div>\n")
          .Append("<form id=\"engage-form\" novalidate hidden>\n<div id=\"engage-lforms\"></div>\n")
          .Append("<button type=\"submit\" id=\"engage-submit\" class=\"engage-submit\">").Append(html.Encode(texts["submit"])).Append("</button>\n</form>\n")
          .Append("<section id=\"engage-done\" class=\"engage-done\" tabindex=\"-1\" hidden></section>\n")
          // Data, not script: a JSON block is never executed, so the CSP needs no 'unsafe-inline' for scripts.
          .Append("<script type=\"application/json\" id=\"engage-texts\">")
          .Append(JsonSerializer.Serialize(texts).Replace("<", "\\u003c", StringComparison.Ordinal)).Append("</script>\n")
          .Append("</main>\n</body>\n</html>\n");
        return new HtmlResult(sb.ToString(), language, StatusCodes.Status200OK, FormPolicy);
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
