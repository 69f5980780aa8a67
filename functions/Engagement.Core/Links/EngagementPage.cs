using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Links;

/// <summary>
/// The patient-facing HTML for <c>GET /engage/{token}</c>: English or Spanish (Accept-Language), mobile-first,
/// accessible, and never showing patient details or the token. The questionnaire form itself is rendered by the page
/// feature; this shows the Questionnaire title and the failure pages.
/// </summary>
public static class EngagementPage
{
    public const string English = "en";
    public const string Spanish = "es";

    // Text stays readable UTF-8 (á, ñ, …); markup characters are still encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

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
        return new HtmlResult(Render(language, heading, body, role: "alert"), language, status);
    }

    /// <summary>The page for a valid link: the Questionnaire title and a loading notice for the form.</summary>
    public static IResult Questionnaire(string? title, string language)
    {
        var es = language == Spanish;
        var heading = string.IsNullOrWhiteSpace(title) ? (es ? "Su cuestionario" : "Your questionnaire") : title;
        var body = es ? "Cargando su formulario…" : "Loading your form…";
        return new HtmlResult(Render(language, heading, body, role: "status"), language, StatusCodes.Status200OK);
    }

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

    private sealed class HtmlResult(string html, string language, int statusCode) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => statusCode;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = "text/html; charset=utf-8";
            // The URL holds the token: never cache the page, never send the URL on as a Referer.
            response.Headers.CacheControl = "no-store";
            response.Headers[HeaderNames.ContentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
            response.Headers["Referrer-Policy"] = "no-referrer";
            response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
            response.Headers[HeaderNames.ContentLanguage] = language;
            response.Headers.Vary = HeaderNames.AcceptLanguage;
            await response.WriteAsync(html, Encoding.UTF8, httpContext.RequestAborted);
        }
    }
}
