using System.CommandLine;
using System.CommandLine.Invocation;
using System.Globalization;
using System.Text;

namespace Serverless.Cli.Commands;

/// <summary>
/// <c>--help</c>: at the top level, every command with every one of its options (a person should not have to
/// guess that <c>serve --help</c> exists to find <c>--port</c>); for one command, its options. The usage line
/// names the command as it was typed (<see cref="CliConsole.CommandName"/>, e.g. <c>./build.sh</c>).
/// </summary>
internal sealed class CliHelp : SynchronousCommandLineAction
{
    private const int Width = 100;
    private readonly CliConsole _console;

    public CliHelp(CliConsole console)
    {
        _console = console;
    }

    /// <summary>--help wins over any other mistake on the line, as it does in the parser's own help.</summary>
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        _console.Output.Write(Render(parseResult.RootCommandResult.Command, parseResult.CommandResult.Command, _console.CommandName));
        _console.Output.Flush();
        return ExitCodes.Success;
    }

    /// <summary>The help text for <paramref name="command"/> (the root lists every command and its options).</summary>
    public static string Render(Command root, Command command, string commandName)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(command);
        var text = new StringBuilder();
        var isRoot = ReferenceEquals(root, command);
        var shared = root.Options.Where(o => o.Recursive && !o.Hidden).ToList();
        if (isRoot)
        {
            text.Append(CultureInfo.InvariantCulture, $"Usage: {commandName} <command> [options]\n\n");
            AppendWrapped(text, root.Description ?? string.Empty, 0);
            text.Append("\nCommands:\n");
            foreach (var sub in root.Subcommands.Where(c => !c.Hidden))
            {
                text.Append('\n');
                AppendRows(text, [(sub.Name, sub.Description ?? string.Empty)], 2);
                AppendRows(text, [.. sub.Options.Where(o => !o.Hidden && !shared.Contains(o)).Select(Row)], 4);
            }

            text.Append("\nOptions (--verbose and --help also after any command):\n");
            AppendRows(text, [.. root.Options.Where(o => !o.Hidden).Select(Row)], 2);
            return text.ToString();
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"Usage: {commandName} {command.Name} [options]\n\n");
            AppendWrapped(text, command.Description ?? string.Empty, 0);
            text.Append("\nOptions:\n");
            AppendRows(text, [.. command.Options.Where(o => !o.Hidden && !shared.Contains(o)).Concat(shared).Select(Row)], 2);
        }

        return text.ToString();
    }

    private static (string Label, string Description) Row(Option option)
    {
        // The parser also accepts -? and /h style aliases for --help; the help shows the usual spellings only.
        var names = option.Aliases.Where(a => a.StartsWith('-') && a != "-?").Order(StringComparer.Ordinal).Append(option.Name);
        var label = string.Join(", ", names);
        var takesValue = option.Arity.MaximumNumberOfValues > 0 && option.ValueType != typeof(bool);
        if (takesValue)
        {
            label += $" <{option.HelpName ?? option.Name.TrimStart('-').ToUpperInvariant()}>";
        }

        var description = option.Description ?? string.Empty;
        if (option.Required)
        {
            description += " (required)";
        }
        else if (takesValue && option.HasDefaultValue && !description.Contains("Default:", StringComparison.Ordinal)
            && option.GetDefaultValue() is { } value && value.ToString() is { Length: > 0 } shown)
        {
            description += $" Default: {shown}.";
        }

        return (label, description);
    }

    private static void AppendRows(StringBuilder text, IReadOnlyList<(string Label, string Description)> rows, int indent)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var column = Math.Min(rows.Max(r => r.Label.Length), 32) + 2;
        foreach (var (label, description) in rows)
        {
            text.Append(' ', indent).Append(label);
            if (label.Length + 2 > column)
            {
                text.Append('\n').Append(' ', indent + column);
            }
            else
            {
                text.Append(' ', column - label.Length);
            }

            AppendWrapped(text, description, indent + column, firstLineStarted: true);
        }
    }

    /// <summary>Appends <paramref name="words"/> word-wrapped to <see cref="Width"/>, continuation lines indented.</summary>
    private static void AppendWrapped(StringBuilder text, string words, int indent, bool firstLineStarted = false)
    {
        var used = firstLineStarted ? indent : 0;
        if (!firstLineStarted)
        {
            text.Append(' ', indent);
            used = indent;
        }

        var lineStart = true;
        foreach (var word in words.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!lineStart && used + 1 + word.Length > Width)
            {
                text.Append('\n').Append(' ', indent);
                used = indent;
                lineStart = true;
            }

            if (!lineStart)
            {
                text.Append(' ');
                used++;
            }

            text.Append(word);
            used += word.Length;
            lineStart = false;
        }

        text.Append('\n');
    }
}
