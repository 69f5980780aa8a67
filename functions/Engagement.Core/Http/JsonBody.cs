using System.Text.Json;
using System.Text.Unicode;

namespace Engagement.Http;

/// <summary>Cheap checks of a raw JSON body before a parser builds anything from it (shared by every JSON route).</summary>
public static class JsonBody
{
    /// <summary>
    /// Whether the bytes are valid UTF-8 text. The JSON reader checks structure, not the bytes inside strings: invalid
    /// UTF-8 there, or an escaped lone surrogate, would only fail (as an exception, not a JSON error) when a value is read.
    /// </summary>
    public static bool IsUtf8(ReadOnlySpan<byte> body) => Utf8.IsValid(body) && !HasLoneSurrogateEscape(body);

    /// <summary>
    /// Whether a string escapes half of a surrogate pair on its own (<c>"\uD800"</c>): valid JSON syntax and ASCII
    /// bytes, but not text — reading the value throws <see cref="InvalidOperationException"/>, which a parser would not
    /// expect. Only bodies with a <c>\u</c> escape are read.
    /// </summary>
    private static bool HasLoneSurrogateEscape(ReadOnlySpan<byte> body)
    {
        if (body.IndexOf("\\u"u8) < 0)
        {
            return false;
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 1024 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    _ = reader.GetString();
                }
            }
        }
        catch (InvalidOperationException)
        {
            return true;
        }
        catch (JsonException)
        {
            // Not JSON at all: the caller's JSON check says so.
        }

        return false;
    }

    /// <summary>The first JSON token (None when empty or not JSON at all).</summary>
    public static JsonTokenType FirstToken(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            return reader.Read() ? reader.TokenType : JsonTokenType.None;
        }
        catch (JsonException)
        {
            return JsonTokenType.None;
        }
    }
}
