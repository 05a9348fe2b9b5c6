using Serverless.Core.Hosting;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The process environment with command-line options laid over it, so --models and --store go through
/// exactly the same parsing and validation as SERVERLESS_MODELS_DIR and MODEL_STORE, and with the folder the
/// command was typed in as the current directory that relative values resolve against.
/// </summary>
internal sealed class OverridingEnvironment : IEnvironment
{
    private readonly IEnvironment _inner;
    private readonly Dictionary<string, string> _overrides;
    private readonly string? _currentDirectory;

    public OverridingEnvironment(IEnvironment inner, IEnumerable<KeyValuePair<string, string?>> overrides, string? currentDirectory = null)
    {
        _inner = inner;
        _currentDirectory = currentDirectory;
        _overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in overrides)
        {
            if (value is not null)
            {
                _overrides[name] = value;
            }
        }
    }

    public string? GetVariable(string name) => _overrides.TryGetValue(name, out var value) ? value : _inner.GetVariable(name);

    public string CurrentDirectory => _currentDirectory ?? _inner.CurrentDirectory;

    public string HomeDirectory => _inner.HomeDirectory;

    public long TotalAvailableMemoryBytes => _inner.TotalAvailableMemoryBytes;
}
