namespace Serverless.Bench.Driver;

/// <summary>How to start one server under test; <c>{port}</c> in an argument is replaced by the port it must listen on.</summary>
internal sealed record ServerCommand(string Name, string FileName, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string?> Environment)
{
    /// <summary>The command line as a person would type it, for the results file.</summary>
    public string Display(int port)
    {
        var env = string.Join(' ', Environment.Where(e => e.Value is not null).Select(e => $"{e.Key}={e.Value}"));
        var unset = string.Join(' ', Environment.Where(e => e.Value is null).Select(e => $"-u {e.Key}"));
        var prefix = env.Length + unset.Length == 0 ? string.Empty : $"env {unset} {env} ".Replace("  ", " ", StringComparison.Ordinal);
        return prefix + FileName + " " + string.Join(' ', Arguments.Select(a => a.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)));
    }
}
