using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Storage;

namespace Serverless.Storage.S3;

/// <summary>
/// <see cref="IObjectStore"/> over S3 for <c>s3://bucket/prefix</c>. Objects are streamed, never buffered
/// whole: reads hand out the response stream, uploads go as one PutObject up to
/// <see cref="S3ObjectStoreOptions.MultipartThresholdBytes"/> and as multipart above it. Every upload sets
/// <c>UseChunkEncoding = false</c>: S3-compatible servers such as s3rver store aws-chunked framing as data,
/// which would silently corrupt the model.
/// </summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3ObjectStoreOptions _options;

    public S3ObjectStore(IAmazonS3 client, string bucket, string prefix, S3ObjectStoreOptions? options = null, bool ownsClient = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        ArgumentNullException.ThrowIfNull(prefix);
        _client = client;
        _ownsClient = ownsClient;
        _options = options ?? new S3ObjectStoreOptions();
        Bucket = bucket;
        Prefix = prefix.Trim('/') is { Length: > 0 } p ? ObjectKey.Validate(p) + "/" : string.Empty;
        Root = $"s3://{bucket}/{Prefix}";
    }

    public string Bucket { get; }

    /// <summary>Key prefix inside the bucket, empty or ending with '/'.</summary>
    public string Prefix { get; }

    public string Root { get; }

    /// <summary>Adds the <c>s3</c> scheme to <paramref name="resolver"/>.</summary>
    public static ObjectStoreResolver Register(ObjectStoreResolver resolver, IEnvironment? environment = null, S3ObjectStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        return resolver.Register("s3", uri => Create(uri, environment, options));
    }

    /// <summary>
    /// A store for <c>s3://bucket/prefix</c>, with a client configured from <paramref name="options"/> and the
    /// environment: AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) overrides the endpoint and switches to path-style
    /// addressing; AWS_REGION / AWS_DEFAULT_REGION pick the region; credentials come from the SDK's default chain.
    /// </summary>
    public static S3ObjectStore Create(Uri uri, IEnvironment? environment = null, S3ObjectStoreOptions? options = null)
    {
        var (bucket, prefix) = ParseUri(uri);
        environment ??= SystemEnvironment.Instance;
        options ??= new S3ObjectStoreOptions();
        var endpoint = options.ServiceUrl ?? Variable(environment, "AWS_ENDPOINT_URL_S3") ?? Variable(environment, "AWS_ENDPOINT_URL");
        var region = options.Region ?? Variable(environment, "AWS_REGION") ?? Variable(environment, "AWS_DEFAULT_REGION") ?? (endpoint is null ? null : "us-east-1");
        var config = new AmazonS3Config
        {
            MaxErrorRetry = options.MaxErrorRetry,
            Timeout = options.Timeout,
        };
        if (endpoint is not null)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var endpointUri) || endpointUri.Scheme is not ("http" or "https"))
            {
                throw new InferenceException(ErrorCode.InvalidInput, $"The S3 endpoint '{endpoint}' (AWS_ENDPOINT_URL_S3) is not an http(s) URL, e.g. http://127.0.0.1:4568.");
            }

            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = region;
        }
        else if (region is not null)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        var credentials = options.Credentials ?? EnvironmentCredentials(environment);
        var client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
        return new S3ObjectStore(client, bucket, prefix, options, ownsClient: true);
    }

    /// <summary>Splits <c>s3://bucket/some/prefix</c>; throws InvalidInput for anything else.</summary>
    public static (string Bucket, string Prefix) ParseUri(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var bucket = uri.Host;
        if (!uri.Scheme.Equals("s3", StringComparison.OrdinalIgnoreCase) || bucket.Length is < 3 or > 63 || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new InferenceException(ErrorCode.InvalidInput, $"'{uri.OriginalString}' is not an S3 store URI; use s3://bucket/optional/prefix.");
        }

        var prefix = Uri.UnescapeDataString(uri.AbsolutePath).Trim('/');
        if (prefix.Length > 0 && !ObjectKey.IsValid(prefix))
        {
            ObjectKey.Validate(prefix);
        }

        return (bucket, prefix);
    }

    public async Task<ObjectProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken)
    {
        var fullKey = FullKey(key);
        try
        {
            var response = await _client.GetObjectMetadataAsync(Bucket, fullKey, cancellationToken).ConfigureAwait(false);
            return new ObjectProperties(key, response.ContentLength, response.ETag, response.LastModified, response.VersionId);
        }
        catch (Exception e) when (S3Errors.IsNotFound(e))
        {
            return null;
        }
        catch (Exception e) when (S3Errors.IsMapped(e, cancellationToken))
        {
            throw S3Errors.Map(e, Root, key, "HeadObject");
        }
    }

    public async Task<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var request = new GetObjectRequest { BucketName = Bucket, Key = FullKey(key) };
        if (offset > 0 || length is not null)
        {
            request.ByteRange = length is { } n ? new ByteRange(offset, offset + n - 1) : new ByteRange($"bytes={offset}-");
        }

        try
        {
            var response = await _client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            // Disposing the stream disposes the response, which releases its connection.
            return new BoundedReadStream(response.ResponseStream, response.ContentLength, response);
        }
        catch (Exception e) when (S3Errors.IsMapped(e, cancellationToken))
        {
            throw S3Errors.Map(e, Root, key, "GetObject");
        }
    }

    public async Task PutAsync(string key, Stream content, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var fullKey = FullKey(key);
        if (!content.CanSeek)
        {
            // The SDK signs the payload, so it must know the length and read the body twice: spool to disk first.
            var spool = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            await using (spool.ConfigureAwait(false))
            {
                await content.CopyToAsync(spool, cancellationToken).ConfigureAwait(false);
                spool.Position = 0;
                await PutSeekableAsync(key, fullKey, spool, contentType, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await PutSeekableAsync(key, fullKey, content, contentType, cancellationToken).ConfigureAwait(false);
    }

    private async Task PutSeekableAsync(string key, string fullKey, Stream content, string? contentType, CancellationToken cancellationToken)
    {
        var size = content.Length - content.Position;
        try
        {
            if (size <= _options.MultipartThresholdBytes)
            {
                await _client.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = Bucket,
                    Key = fullKey,
                    InputStream = content,
                    AutoCloseStream = false,
                    UseChunkEncoding = false,
                    ContentType = contentType ?? "application/octet-stream",
                }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PutMultipartAsync(fullKey, content, size, contentType, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (S3Errors.IsMapped(e, cancellationToken))
        {
            throw S3Errors.Map(e, Root, key, "PutObject");
        }
    }

    private async Task PutMultipartAsync(string fullKey, Stream content, long size, string? contentType, CancellationToken cancellationToken)
    {
        var start = await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = Bucket,
            Key = fullKey,
            ContentType = contentType ?? "application/octet-stream",
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            var parts = new List<PartETag>();
            var buffer = new byte[(int)Math.Min(_options.PartSizeBytes, size)];
            for (var number = 1; ; number++)
            {
                var filled = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (filled == 0)
                {
                    break;
                }

                using var part = new MemoryStream(buffer, 0, filled, writable: false);
                var response = await _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = Bucket,
                    Key = fullKey,
                    UploadId = start.UploadId,
                    PartNumber = number,
                    PartSize = filled,
                    InputStream = part,
                    UseChunkEncoding = false,
                }, cancellationToken).ConfigureAwait(false);
                parts.Add(new PartETag(number, response.ETag));
            }

            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = fullKey,
                UploadId = start.UploadId,
                PartETags = parts,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await _client.AbortMultipartUploadAsync(Bucket, fullKey, start.UploadId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (S3Errors.IsMapped(e, CancellationToken.None))
            {
                // The original failure matters more; an unfinished upload is cleaned by the bucket's lifecycle rule.
            }

            throw;
        }
    }

    public async IAsyncEnumerable<ObjectProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKey.ValidatePrefix(prefix);
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = Prefix + prefix };
        while (true)
        {
            ListObjectsV2Response response;
            try
            {
                response = await _client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (S3Errors.IsMapped(e, cancellationToken))
            {
                throw S3Errors.Map(e, Root, prefix, "ListObjectsV2");
            }

            foreach (var item in response.S3Objects ?? [])
            {
                var key = item.Key[Prefix.Length..];
                if (ObjectKey.IsValid(key))
                {
                    yield return new ObjectProperties(key, item.Size ?? 0, item.ETag, item.LastModified);
                }
            }

            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
            {
                yield break;
            }

            request.ContinuationToken = response.NextContinuationToken;
        }
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    private string FullKey(string key) => Prefix + ObjectKey.Validate(key);

    private static string? Variable(IEnvironment environment, string name) =>
        environment.GetVariable(name)?.Trim() is { Length: > 0 } value ? value : null;

    private static AWSCredentials? EnvironmentCredentials(IEnvironment environment)
    {
        var id = Variable(environment, "AWS_ACCESS_KEY_ID");
        var secret = Variable(environment, "AWS_SECRET_ACCESS_KEY");
        if (id is null || secret is null)
        {
            return null;
        }

        return Variable(environment, "AWS_SESSION_TOKEN") is { } token ? new SessionAWSCredentials(id, secret, token) : new BasicAWSCredentials(id, secret);
    }
}
