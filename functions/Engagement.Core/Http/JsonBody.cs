using System.Text.Json;
using System.Text.Unicode;

namespace Engagement.Http;

/// <summary>Cheap checks of a raw JSON body before a parser builds anything from it (shared by every JSON route).</summary>
public static class JsonBody
{
    /// <summary>
    /// Whether the bytes are valid UTF-8. The JSON reader checks structure, not the bytes inside strings: invalid
    /// UTF-8 there would only fail (as an exception, not a JSON error) when a value is read.
    /// </summary>
    public static bool IsUtf8(ReadOnlySpan<byte> body) => Utf8.IsValid(body);

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
