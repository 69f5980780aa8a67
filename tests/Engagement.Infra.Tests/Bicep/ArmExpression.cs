using System.Globalization;
using System.Text;

namespace Engagement.Infra.Tests.Bicep;

/// <summary>
/// Evaluates the few template expressions <c>bicep snapshot</c> leaves in values it cannot fold: a
/// <c>[format('...', args)]</c> whose arguments are string literals or the Azure public cloud's
/// <c>environment().suffixes</c>. Anything else (e.g. <c>reference()</c> to a resource's runtime
/// property) is not known before deployment: <see cref="TryEvaluate"/> returns false.
/// </summary>
internal static class ArmExpression
{
    private static readonly Dictionary<string, string> PublicCloud = new(StringComparer.Ordinal)
    {
        ["environment().suffixes.keyvaultDns"] = ".vault.azure.net",
        ["environment().suffixes.storage"] = "core.windows.net",
    };

    public static bool IsExpression(string value) =>
        value.StartsWith('[') && value.EndsWith(']') && !value.StartsWith("[[", StringComparison.Ordinal);

    public static bool TryEvaluate(string value, out string result)
    {
        result = value;
        if (!IsExpression(value))
        {
            result = value.StartsWith("[[", StringComparison.Ordinal) ? value[1..] : value;
            return true;
        }

        var body = value[1..^1].Trim();
        if (!body.StartsWith("format(", StringComparison.Ordinal) || !body.EndsWith(')'))
        {
            return false;
        }

        var args = SplitArguments(body["format(".Length..^1]);
        var evaluated = new List<string>();
        foreach (var arg in args)
        {
            if (arg.Length >= 2 && arg[0] == '\'' && arg[^1] == '\'')
            {
                evaluated.Add(arg[1..^1].Replace("''", "'", StringComparison.Ordinal));
            }
            else if (PublicCloud.TryGetValue(arg, out var known))
            {
                evaluated.Add(known);
            }
            else
            {
                return false;
            }
        }

        if (evaluated.Count == 0)
        {
            return false;
        }

        result = string.Format(CultureInfo.InvariantCulture, evaluated[0], evaluated.Skip(1).Cast<object>().ToArray());
        return true;
    }

    /// <summary>Splits top-level comma-separated arguments, respecting quotes and parentheses.</summary>
    private static List<string> SplitArguments(string text)
    {
        var args = new List<string>();
        var current = new StringBuilder();
        var depth = 0;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                current.Append(c);
                if (c == '\'')
                {
                    if (i + 1 < text.Length && text[i + 1] == '\'')
                    {
                        current.Append(text[++i]);
                    }
                    else
                    {
                        quoted = false;
                    }
                }

                continue;
            }

            switch (c)
            {
                case '\'':
                    quoted = true;
                    current.Append(c);
                    break;
                case '(':
                    depth++;
                    current.Append(c);
                    break;
                case ')':
                    depth--;
                    current.Append(c);
                    break;
                case ',' when depth == 0:
                    args.Add(current.ToString().Trim());
                    current.Clear();
                    break;
                default:
                    current.Append(c);
                    break;
            }
        }

        if (current.Length > 0)
        {
            args.Add(current.ToString().Trim());
        }

        return args;
    }
}
