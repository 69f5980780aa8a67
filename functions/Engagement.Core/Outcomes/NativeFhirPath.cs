using System.Collections;
using System.Globalization;
using Hl7.Fhir.Model;

namespace Engagement.Outcomes;

/// <summary>
/// A direct evaluator for the small part of FHIRPath that scoring and red-flag rules are written in — paths
/// (<c>%resource.item.answer.value.code</c>), <c>where(…)</c>, <c>exclude</c>, <c>count</c>, <c>exists</c>, <c>empty</c>,
/// <c>not</c>, <c>first</c>, <c>last</c>, <c>+</c> <c>-</c>, comparisons, <c>=</c> <c>!=</c>, <c>and</c> <c>or</c> over
/// strings, numbers and booleans — working on the POCOs themselves. Firely's engine stays the reference: an expression
/// outside this subset is not compiled here (<see cref="TryCompile"/> returns null), and anything unexpected at run time
/// (a date, a Coding compared with a string, a collection where FHIRPath wants one item, a type it does not know) throws
/// <see cref="NotSupportedException"/> so the caller evaluates the whole expression with Firely instead. Within the subset
/// the result is the same as Firely's (<c>NativeFhirPathTests</c> compares them); it costs about a microsecond per step
/// instead of Firely's five to ten (docs/performance.md).
/// </summary>
internal static class NativeFhirPath
{
    /// <summary>What an expression is evaluated against: the focus (<c>$this</c>) and the named variables.</summary>
    internal sealed class Context(IReadOnlyDictionary<string, List<object>> variables)
    {
        public IReadOnlyDictionary<string, List<object>> Variables { get; } = variables;
    }

    internal delegate List<object> Path(Context context, List<object> focus);

    /// <summary>Compiles <paramref name="text"/> when it is inside the subset; null otherwise (use Firely).</summary>
    public static Path? TryCompile(string text)
    {
        try
        {
            var parser = new Parser(Tokenize(text));
            var path = parser.Expression();
            return parser.AtEnd ? path : null;
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    // --- tokens -----------------------------------------------------------------------------------------------------

    private enum Kind { Variable, Identifier, String, Number, Symbol, End }

    private readonly record struct Token(Kind Kind, string Text);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '%' || c == '$' || char.IsLetter(c) || c == '_')
            {
                var start = i++;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                var word = text[start..i];
                if (c == '%')
                {
                    tokens.Add(new Token(Kind.Variable, word[1..].Length > 0 ? word[1..] : throw new NotSupportedException()));
                }
                else if (c == '$')
                {
                    tokens.Add(word == "$this" ? new Token(Kind.Symbol, word) : throw new NotSupportedException());
                }
                else
                {
                    tokens.Add(new Token(Kind.Identifier, word));
                }
            }
            else if (c == '\'')
            {
                var end = text.IndexOf('\'', i + 1);
                var literal = end < 0 ? throw new NotSupportedException() : text[(i + 1)..end];
                if (literal.Contains('\\', StringComparison.Ordinal))
                {
                    throw new NotSupportedException(); // escapes: Firely
                }

                tokens.Add(new Token(Kind.String, literal));
                i = end + 1;
            }
            else if (char.IsAsciiDigit(c))
            {
                var start = i;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }

                if (i + 1 < text.Length && text[i] == '.' && char.IsAsciiDigit(text[i + 1]))
                {
                    i++;
                    while (i < text.Length && char.IsAsciiDigit(text[i]))
                    {
                        i++;
                    }
                }

                if (i < text.Length && (char.IsLetter(text[i]) || text[i] == '\''))
                {
                    throw new NotSupportedException(); // quantities, dates: Firely
                }

                tokens.Add(new Token(Kind.Number, text[start..i]));
            }
            else if (i + 1 < text.Length && text.AsSpan(i, 2) is ">=" or "<=" or "!=")
            {
                tokens.Add(new Token(Kind.Symbol, text.Substring(i, 2)));
                i += 2;
            }
            else if ("().,+-<>=".Contains(c, StringComparison.Ordinal))
            {
                tokens.Add(new Token(Kind.Symbol, c.ToString()));
                i++;
            }
            else
            {
                throw new NotSupportedException(); // | * / & [ ] ~ @ ` { } …: Firely
            }
        }

        tokens.Add(new Token(Kind.End, string.Empty));
        return tokens;
    }

    // --- parser: builds the evaluator as closures ---------------------------------------------------------------------

    private sealed class Parser(List<Token> tokens)
    {
        private int position;

        public bool AtEnd => tokens[position].Kind == Kind.End;

        private Token Peek => tokens[position];

        private bool IsSymbol(string symbol) => Peek.Kind == Kind.Symbol && Peek.Text == symbol;

        private bool IsWord(string word) => Peek.Kind == Kind.Identifier && Peek.Text == word;

        private void Expect(string symbol)
        {
            if (!IsSymbol(symbol))
            {
                throw new NotSupportedException();
            }

            position++;
        }

        public Path Expression() => Or();

        private Path Or()
        {
            var left = And();
            while (IsWord("or"))
            {
                position++;
                var l = left;
                var r = And();
                left = (c, f) => Logic(Truth(l(c, f)), Truth(r(c, f)), and: false);
            }

            if (IsWord("xor") || IsWord("implies"))
            {
                throw new NotSupportedException();
            }

            return left;
        }

        private Path And()
        {
            var left = Equality();
            while (IsWord("and"))
            {
                position++;
                var l = left;
                var r = Equality();
                left = (c, f) => Logic(Truth(l(c, f)), Truth(r(c, f)), and: true);
            }

            return left;
        }

        private Path Equality()
        {
            var left = Comparison();
            while (IsSymbol("=") || IsSymbol("!="))
            {
                var negate = Peek.Text == "!=";
                position++;
                var l = left;
                var r = Comparison();
                left = (c, f) =>
                {
                    var a = l(c, f);
                    var b = r(c, f);
                    if (a.Count == 0 || b.Count == 0)
                    {
                        return [];
                    }

                    var equal = Equal(Single(a), Single(b));
                    return [negate ? !equal : equal];
                };
            }

            return left;
        }

        private Path Comparison()
        {
            var left = Additive();
            while (Peek.Kind == Kind.Symbol && Peek.Text is "<" or ">" or "<=" or ">=")
            {
                var op = Peek.Text;
                position++;
                var l = left;
                var r = Additive();
                left = (c, f) =>
                {
                    var a = l(c, f);
                    var b = r(c, f);
                    if (a.Count == 0 || b.Count == 0)
                    {
                        return [];
                    }

                    var order = Compare(Single(a), Single(b));
                    return [op switch { "<" => order < 0, ">" => order > 0, "<=" => order <= 0, _ => order >= 0 }];
                };
            }

            return left;
        }

        private Path Additive()
        {
            var left = Postfix();
            while (IsSymbol("+") || IsSymbol("-"))
            {
                var plus = Peek.Text == "+";
                position++;
                var l = left;
                var r = Postfix();
                left = (c, f) =>
                {
                    var a = l(c, f);
                    var b = r(c, f);
                    return a.Count == 0 || b.Count == 0 ? [] : [Arithmetic(Single(a), Single(b), plus)];
                };
            }

            return left;
        }

        private Path Postfix()
        {
            var path = Term();
            while (IsSymbol("."))
            {
                position++;
                if (Peek.Kind != Kind.Identifier)
                {
                    throw new NotSupportedException();
                }

                var name = Peek.Text;
                position++;
                path = IsSymbol("(") ? Function(path, name) : Child(path, name);
            }

            return path;
        }

        private Path Term()
        {
            var token = Peek;
            position++;
            switch (token.Kind)
            {
                case Kind.Variable:
                    var variable = token.Text;
                    return (c, _) => c.Variables.TryGetValue(variable, out var value) ? value : throw new NotSupportedException();
                case Kind.String:
                    var text = token.Text;
                    return (_, _) => [text];
                case Kind.Number:
                    object number = token.Text.Contains('.', StringComparison.Ordinal)
                        ? decimal.Parse(token.Text, CultureInfo.InvariantCulture)
                        : long.Parse(token.Text, CultureInfo.InvariantCulture);
                    return (_, _) => [number];
                case Kind.Identifier when token.Text is "true" or "false":
                    var flag = token.Text == "true";
                    return (_, _) => [flag];
                case Kind.Identifier when IsSymbol("("):
                    throw new NotSupportedException(); // functions on the implicit focus (iif, today, …): Firely
                case Kind.Identifier when char.IsLower(token.Text[0]):
                    return Child((_, f) => f, token.Text);
                case Kind.Symbol when token.Text == "$this":
                    return (_, f) => f;
                case Kind.Symbol when token.Text == "(":
                    var inner = Expression();
                    Expect(")");
                    return inner;
                default:
                    throw new NotSupportedException(); // a type name (Patient.…), unary minus, …: Firely
            }
        }

        private Path Function(Path input, string name)
        {
            Expect("(");
            var arguments = new List<Path>();
            if (!IsSymbol(")"))
            {
                arguments.Add(Expression());
                while (IsSymbol(","))
                {
                    position++;
                    arguments.Add(Expression());
                }
            }

            Expect(")");
            return (name, arguments.Count) switch
            {
                ("count", 0) => (c, f) => [(long)input(c, f).Count],
                ("exists", 0) => (c, f) => [input(c, f).Count > 0],
                ("empty", 0) => (c, f) => [input(c, f).Count == 0],
                ("first", 0) => (c, f) => input(c, f) is [var first, ..] ? [first] : [],
                ("last", 0) => (c, f) => input(c, f) is [.., var last] ? [last] : [],
                ("not", 0) => (c, f) => Truth(input(c, f)) is { } b ? [!b] : [],
                ("exclude", 1) => (c, f) =>
                {
                    var items = input(c, f);
                    var other = arguments[0](c, f);
                    return items.Where(i => !other.Exists(o => Equal(i, o))).ToList();
                },
                ("where", 1) => (c, f) => input(c, f).Where(i => Truth(arguments[0](c, [i])) == true).ToList(),
                _ => throw new NotSupportedException(),
            };
        }

        private static Path Child(Path input, string name) => (c, f) =>
        {
            var result = new List<object>();
            foreach (var item in input(c, f))
            {
                if (item is PrimitiveType)
                {
                    if (name is "extension" or "id" or "value")
                    {
                        throw new NotSupportedException(); // a primitive's extensions and id: Firely
                    }

                    continue; // a primitive has no other children (e.g. .code on a valueInteger)
                }

                if (item is not Base node)
                {
                    throw new NotSupportedException();
                }

                if (!Known(node, name, out var value) && !node.TryGetValue(name, out value) || value is null)
                {
                    continue;
                }

                switch (value)
                {
                    case Base single:
                        result.Add(single);
                        break;
                    case IList list:
                        foreach (var element in list)
                        {
                            if (element is Base b)
                            {
                                result.Add(b);
                            }
                        }

                        break;
                    default:
                        throw new NotSupportedException();
                }
            }

            return result;
        };
    }

    /// <summary>
    /// The elements questionnaire expressions walk, read directly (<see cref="Base.TryGetValue"/> gives the same values
    /// for every element, by name lookup).
    /// </summary>
    private static bool Known(Base node, string name, out object? value)
    {
        value = (node, name) switch
        {
            (QuestionnaireResponse r, "item") => r.Item,
            (QuestionnaireResponse.ItemComponent i, "item") => i.Item,
            (QuestionnaireResponse.ItemComponent i, "answer") => i.Answer,
            (QuestionnaireResponse.ItemComponent i, "linkId") => i.LinkIdElement,
            (QuestionnaireResponse.AnswerComponent a, "value") => a.Value,
            (QuestionnaireResponse.AnswerComponent a, "item") => a.Item,
            (Coding c, "code") => c.CodeElement,
            (Coding c, "system") => c.SystemElement,
            (Coding c, "display") => c.DisplayElement,
            _ => Unknown,
        };
        if (ReferenceEquals(value, Unknown))
        {
            value = null;
            return false;
        }

        return true;
    }

    private static readonly object Unknown = new();

    // --- values -----------------------------------------------------------------------------------------------------

    /// <summary>A string, long, decimal or bool for the primitives the subset compares; anything else is not supported.</summary>
    private static object Atom(object value) => value switch
    {
        string or long or decimal or bool => value,
        int i => (long)i,
        Integer { Value: { } i } => (long)i,
        UnsignedInt { Value: { } u } => (long)u,
        PositiveInt { Value: { } p } => (long)p,
        Integer64 { Value: { } l } => l,
        FhirDecimal { Value: { } d } => d,
        FhirBoolean { Value: { } b } => b,
        FhirString { Value: { } s } => s,
        Code { Value: { } s } => s,
        Id { Value: { } s } => s,
        Markdown { Value: { } s } => s,
        PrimitiveType { TypeName: "code" } p when p.JsonValue is string s => s, // Code<T>
        _ => throw new NotSupportedException(),
    };

    private static object Single(List<object> values) => values.Count == 1 ? Atom(values[0]) : throw new NotSupportedException();

    private static bool Equal(object a, object b)
    {
        var x = Atom(a);
        var y = Atom(b);
        return (x, y) switch
        {
            (string s, string t) => string.Equals(s, t, StringComparison.Ordinal),
            (bool p, bool q) => p == q,
            (long or decimal, long or decimal) => ToDecimal(x) == ToDecimal(y),
            _ => throw new NotSupportedException(), // mixed types: Firely's rules
        };
    }

    private static int Compare(object x, object y) => (x, y) switch
    {
        (string s, string t) => string.CompareOrdinal(s, t),
        (long or decimal, long or decimal) => ToDecimal(x).CompareTo(ToDecimal(y)),
        _ => throw new NotSupportedException(),
    };

    private static object Arithmetic(object x, object y, bool plus) => (x, y) switch
    {
        (long a, long b) => plus ? checked(a + b) : checked(a - b),
        (long or decimal, long or decimal) => plus ? ToDecimal(x) + ToDecimal(y) : ToDecimal(x) - ToDecimal(y),
        (string s, string t) when plus => s + t,
        _ => throw new NotSupportedException(),
    };

    private static decimal ToDecimal(object value) => value is long l ? l : (decimal)value;

    /// <summary>
    /// A collection as a Boolean operand: empty → none, one boolean → it. Anything else (FHIRPath's implicit conversions
    /// of other single items) is left to Firely.
    /// </summary>
    private static bool? Truth(List<object> values) => values switch
    {
        [] => null,
        [bool b] => b,
        [FhirBoolean { Value: { } b }] => b,
        _ => throw new NotSupportedException(),
    };

    private static List<object> Logic(bool? a, bool? b, bool and)
    {
        bool? result = and
            ? (a == false || b == false ? false : a == true && b == true ? true : null)
            : (a == true || b == true ? true : a == false && b == false ? false : null);
        return result is { } r ? [r] : [];
    }
}
