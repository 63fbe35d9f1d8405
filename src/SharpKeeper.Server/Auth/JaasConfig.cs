using System.Text;

namespace SharpKeeper.Server.Auth;

/// <summary>One login module line of a JAAS section: its class, its flag and its options.</summary>
public sealed record JaasModule(string ClassName, string Flag, IReadOnlyDictionary<string, string> Options);

/// <summary>
/// A JAAS login configuration file (java.security.auth.login.config), in the syntax Java's
/// ConfigFile reads: <c>Name { module.Class flag key="value" ...; ... };</c> with // and /* */
/// comments. ZooKeeper's server reads its SASL users from the Server section's DigestLoginModule
/// options (<c>user_NAME="password"</c>).
/// </summary>
public sealed class JaasConfig
{
    private readonly Dictionary<string, List<JaasModule>> _sections;

    private JaasConfig(Dictionary<string, List<JaasModule>> sections) => _sections = sections;

    public IReadOnlyList<JaasModule>? Section(string name) => _sections.GetValueOrDefault(name);

    /// <summary>The passwords of the DigestLoginModule users of a section (user_NAME options).</summary>
    public static Dictionary<string, string> DigestUsers(IEnumerable<JaasModule> section)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var module in section)
        {
            foreach (var (key, value) in module.Options)
            {
                if (key.StartsWith("user_", StringComparison.Ordinal))
                {
                    users[key["user_".Length..]] = value;
                }
            }
        }

        return users;
    }

    /// <exception cref="FormatException">The text is not a JAAS configuration; the message says where.</exception>
    public static JaasConfig Parse(string text)
    {
        var tokens = new Tokens(text);
        var sections = new Dictionary<string, List<JaasModule>>(StringComparer.Ordinal);
        while (tokens.Next() is { } name)
        {
            tokens.Expect("{");
            var modules = new List<JaasModule>();
            while (tokens.Next() is { } word && word != "}")
            {
                var flag = tokens.Next() ?? throw tokens.Error("a login module has no flag");
                var options = new Dictionary<string, string>(StringComparer.Ordinal);
                while (tokens.Next() is { } key && key != ";")
                {
                    tokens.Expect("=");
                    options[key] = tokens.Next() ?? throw tokens.Error($"option {key} has no value");
                }

                modules.Add(new JaasModule(word, flag, options));
            }

            tokens.Expect(";");
            sections[name] = modules;
        }

        return new JaasConfig(sections);
    }

    /// <summary>Words, quoted strings and the punctuation { } ; =, skipping blanks and comments.</summary>
    private sealed class Tokens(string text)
    {
        private int _at;
        private int _line = 1;

        public FormatException Error(string message) => new($"line {_line}: {message}");

        public void Expect(string punctuation)
        {
            var token = Next();
            if (token != punctuation)
            {
                throw Error($"expected '{punctuation}', found {(token is null ? "the end" : $"'{token}'")}");
            }
        }

        public string? Next()
        {
            SkipBlanksAndComments();
            if (_at >= text.Length)
            {
                return null;
            }

            var c = text[_at];
            if (c is '{' or '}' or ';' or '=')
            {
                _at++;
                return c.ToString();
            }

            var token = new StringBuilder();
            if (c == '"')
            {
                _at++;
                while (_at < text.Length && text[_at] != '"')
                {
                    if (text[_at] == '\\' && _at + 1 < text.Length)
                    {
                        _at++;
                    }

                    token.Append(text[_at++]);
                }

                if (_at >= text.Length)
                {
                    throw Error("a quoted value is not closed");
                }

                _at++;
                return token.ToString();
            }

            while (_at < text.Length && !char.IsWhiteSpace(text[_at]) && text[_at] is not ('{' or '}' or ';' or '=' or '"'))
            {
                token.Append(text[_at++]);
            }

            return token.ToString();
        }

        private void SkipBlanksAndComments()
        {
            while (_at < text.Length)
            {
                if (text[_at] == '\n')
                {
                    _line++;
                    _at++;
                }
                else if (char.IsWhiteSpace(text[_at]))
                {
                    _at++;
                }
                else if (text.AsSpan(_at).StartsWith("//"))
                {
                    while (_at < text.Length && text[_at] != '\n')
                    {
                        _at++;
                    }
                }
                else if (text.AsSpan(_at).StartsWith("/*"))
                {
                    var end = text.IndexOf("*/", _at + 2, StringComparison.Ordinal);
                    _line += text.AsSpan(_at, (end < 0 ? text.Length : end) - _at).Count('\n');
                    _at = end < 0 ? text.Length : end + 2;
                }
                else
                {
                    return;
                }
            }
        }
    }
}
