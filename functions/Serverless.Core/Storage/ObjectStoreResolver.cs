using Serverless.Core.Errors;

namespace Serverless.Core.Storage;

/// <summary>
/// Maps a store URI (MODEL_STORE, <c>publish --store</c>) to an <see cref="IObjectStore"/> by its scheme.
/// The core knows <c>file://</c> and plain relative or absolute paths; cloud projects add their schemes
/// (<c>S3ObjectStore.Register(resolver)</c> adds <c>s3</c>; the Azure project adds <c>azblob</c> and <c>https</c>),
/// which keeps the core free of cloud SDKs.
/// </summary>
public sealed class ObjectStoreResolver
{
    private readonly Dictionary<string, Func<Uri, IObjectStore>> _factories = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    /// <param name="baseDirectory">Folder that relative paths are resolved against; the current directory when null.</param>
    public ObjectStoreResolver(string? baseDirectory = null)
    {
        BaseDirectory = baseDirectory;
    }

    public string? BaseDirectory { get; }

    /// <summary>The schemes this resolver accepts, "file" first.</summary>
    public IReadOnlyList<string> Schemes
    {
        get
        {
            lock (_gate)
            {
                return ["file", .. _factories.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Adds (or replaces) the factory for <paramref name="scheme"/>, e.g. "s3".</summary>
    public ObjectStoreResolver Register(string scheme, Func<Uri, IObjectStore> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(scheme);
        ArgumentNullException.ThrowIfNull(factory);
        if (scheme.Equals("file", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("The file scheme is built in and cannot be replaced.", nameof(scheme));
        }

        lock (_gate)
        {
            _factories[scheme] = factory;
        }

        return this;
    }

    public bool IsRegistered(string scheme)
    {
        lock (_gate)
        {
            return scheme.Equals("file", StringComparison.OrdinalIgnoreCase) || _factories.ContainsKey(scheme);
        }
    }

    /// <summary>
    /// The store for <paramref name="storeUri"/>. Throws InvalidInput for an empty URI or an unregistered
    /// scheme, listing the schemes that are supported.
    /// </summary>
    public IObjectStore Resolve(string storeUri)
    {
        if (string.IsNullOrWhiteSpace(storeUri))
        {
            throw new InferenceException(ErrorCode.InvalidInput,
                $"The model store URI is empty. Set MODEL_STORE to one of: {string.Join(", ", Schemes.Select(Example))}.");
        }

        var scheme = SchemeOf(storeUri);
        if (scheme is null || scheme.Equals("file", StringComparison.OrdinalIgnoreCase))
        {
            return LocalObjectStore.FromUri(storeUri, BaseDirectory);
        }

        Func<Uri, IObjectStore>? factory;
        lock (_gate)
        {
            _factories.TryGetValue(scheme, out factory);
        }

        if (factory is null)
        {
            throw new InferenceException(ErrorCode.InvalidInput,
                $"The model store '{storeUri}' uses the scheme '{scheme}', which this build does not support. " +
                $"Supported: {string.Join(", ", Schemes.Select(Example))}.");
        }

        if (!Uri.TryCreate(storeUri, UriKind.Absolute, out var uri))
        {
            throw new InferenceException(ErrorCode.InvalidInput, $"The model store '{storeUri}' is not a valid URI.");
        }

        return factory(uri);
    }

    /// <summary>The URI scheme, or null for a plain path (including Windows drive paths like C:\models).</summary>
    private static string? SchemeOf(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 1)
        {
            return null;
        }

        var scheme = value[..colon];
        return scheme.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.') && char.IsAsciiLetter(scheme[0]) ? scheme : null;
    }

    private static string Example(string scheme) => scheme switch
    {
        "file" => "file:///absolute/path (or a relative path)",
        "s3" => "s3://bucket/prefix",
        "azblob" => "azblob://container/prefix (account from AzureWebJobsStorage)",
        _ => scheme + "://...",
    };
}
