using System.Globalization;
using System.Text.RegularExpressions;

namespace Serverless.Infra.Configuration;

/// <summary>
/// Everything the stack can be told through CDK context (<c>cdk.json</c> or <c>cdk deploy -c key=value</c>),
/// parsed once and validated up front so a mistake stops synthesis with a message that names the key.
/// Relative paths are resolved against the folder <c>cdk</c> runs in (infra-cdk/).
/// </summary>
public sealed partial record InfraSettings
{
    public const string ModelsKey = "models";
    public const string ModelStoreKey = "modelStore";
    public const string StageKey = "stage";
    public const string GpuInstanceTypeKey = "gpuInstanceType";
    public const string GpuMinCapacityKey = "gpuMinCapacity";
    public const string GpuMaxCapacityKey = "gpuMaxCapacity";
    public const string ApiAuthKey = "apiAuth";
    public const string JwtIssuerKey = "jwtIssuer";
    public const string JwtAudienceKey = "jwtAudience";
    public const string ForceGpuServiceKey = "forceGpuService";
    public const string ModelBucketNameKey = "modelBucketName";
    public const string ModelBucketEncryptionKey = "modelBucketEncryption";
    public const string LambdaPackagesKey = "lambdaPackages";
    public const string LambdaArchitectureKey = "lambdaArchitecture";
    public const string LambdaArchitecturesKey = "lambdaArchitectures";
    public const string CanaryKey = "canary";
    public const string PreloadKey = "preload";
    public const string GpuImageContextKey = "gpuImageContext";
    public const string GpuDockerfileKey = "gpuDockerfile";
    public const string IncomingExpirationDaysKey = "incomingExpirationDays";
    public const string ResultsTransitionDaysKey = "resultsTransitionDays";
    public const string ResultsExpirationDaysKey = "resultsExpirationDays";

    /// <summary>Folder holding <c>&lt;name&gt;/model.json</c> manifests.</summary>
    public required string ModelsDirectory { get; init; }

    /// <summary>Local verified model store (<c>&lt;name&gt;/&lt;version&gt;/model.onnx</c>) uploaded at deploy time.</summary>
    public required string ModelStoreDirectory { get; init; }

    public string Stage { get; init; } = "prod";

    public string GpuInstanceType { get; init; } = "g5.xlarge";

    public int GpuMinCapacity { get; init; }

    public int GpuMaxCapacity { get; init; } = 2;

    public ApiAuthMode ApiAuth { get; init; } = ApiAuthMode.Iam;

    public string? JwtIssuer { get; init; }

    public IReadOnlyList<string> JwtAudience { get; init; } = [];

    public bool ForceGpuService { get; init; }

    /// <summary>When set, models are read from this existing bucket and nothing is uploaded.</summary>
    public string? ExistingModelBucketName { get; init; }

    /// <summary>KMS (a customer-managed key with rotation) instead of S3-managed keys for the model bucket.</summary>
    public bool ModelBucketKms { get; init; }

    /// <summary>The folder where <c>./build.sh package</c> writes bootstrap-arm64.zip and bootstrap-x86_64.zip.</summary>
    public required string LambdaPackagesDirectory { get; init; }

    /// <summary>The architecture of every function that <see cref="ModelArchitectures"/> does not name.</summary>
    public LambdaArchitecture LambdaArchitecture { get; init; } = LambdaArchitecture.Arm64;

    /// <summary>Per-model architectures (<c>-c lambdaArchitectures=name=x86_64,other=arm64</c>).</summary>
    public IReadOnlyDictionary<string, LambdaArchitecture> ModelArchitectures { get; init; } = new Dictionary<string, LambdaArchitecture>();

    /// <summary>The architecture a model's function runs on.</summary>
    public LambdaArchitecture ArchitectureFor(string model) => ModelArchitectures.TryGetValue(model, out var architecture) ? architecture : LambdaArchitecture;

    /// <summary>The Native AOT bootstrap zip for an architecture.</summary>
    public string PackageFor(LambdaArchitecture architecture) => Path.Combine(LambdaPackagesDirectory, architecture.PackageFileName());

    /// <summary>Shift traffic to new function versions 10% first and roll back on alarms (CodeDeploy).</summary>
    public bool Canary { get; init; } = true;

    /// <summary>Sets MODEL_PRELOAD to each function's model name so functions load their model during init rather than on first request.</summary>
    public bool Preload { get; init; }

    /// <summary>Docker build context of the GPU server image.</summary>
    public required string GpuImageContext { get; init; }

    /// <summary>Dockerfile path relative to <see cref="GpuImageContext"/>.</summary>
    public string GpuDockerfile { get; init; } = "functions/Serverless.Gpu/Dockerfile";

    public int IncomingExpirationDays { get; init; } = 7;

    public int ResultsTransitionDays { get; init; } = 30;

    public int ResultsExpirationDays { get; init; } = 365;

    /// <summary>
    /// Reads and validates every key. <paramref name="context"/> returns the raw context value or null;
    /// values from the command line arrive as strings, values from cdk.json as JSON types.
    /// </summary>
    public static InfraSettings Load(Func<string, object?> context, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(context);
        string Text(string key) => Convert.ToString(context(key), CultureInfo.InvariantCulture)?.Trim() ?? "";
        string PathOf(string key, string fallback)
        {
            var raw = Text(key);
            return Path.GetFullPath(Path.Combine(baseDirectory, raw.Length == 0 ? fallback : raw));
        }

        var settings = new InfraSettings
        {
            ModelsDirectory = PathOf(ModelsKey, "../.cache/store"),
            ModelStoreDirectory = PathOf(ModelStoreKey, "../.cache/store"),
            Stage = Text(StageKey) is { Length: > 0 } stage ? stage : "prod",
            GpuInstanceType = Text(GpuInstanceTypeKey) is { Length: > 0 } type ? type : "g5.xlarge",
            GpuMinCapacity = Integer(Text(GpuMinCapacityKey), GpuMinCapacityKey, 0),
            GpuMaxCapacity = Integer(Text(GpuMaxCapacityKey), GpuMaxCapacityKey, 2),
            ApiAuth = ParseAuth(Text(ApiAuthKey)),
            JwtIssuer = Text(JwtIssuerKey) is { Length: > 0 } issuer ? issuer : null,
            JwtAudience = Text(JwtAudienceKey).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            ForceGpuService = Flag(Text(ForceGpuServiceKey), ForceGpuServiceKey, false),
            ExistingModelBucketName = Text(ModelBucketNameKey) is { Length: > 0 } bucket ? bucket : null,
            ModelBucketKms = ParseEncryption(Text(ModelBucketEncryptionKey)),
            LambdaPackagesDirectory = PathOf(LambdaPackagesKey, "../artifacts/lambda"),
            LambdaArchitecture = ParseArchitecture(Text(LambdaArchitectureKey), LambdaArchitectureKey, LambdaArchitecture.Arm64),
            ModelArchitectures = ParseModelArchitectures(Text(LambdaArchitecturesKey)),
            Canary = Flag(Text(CanaryKey), CanaryKey, true),
            Preload = Flag(Text(PreloadKey), PreloadKey, false),
            GpuImageContext = PathOf(GpuImageContextKey, ".."),
            GpuDockerfile = Text(GpuDockerfileKey) is { Length: > 0 } file ? file : "functions/Serverless.Gpu/Dockerfile",
            IncomingExpirationDays = Integer(Text(IncomingExpirationDaysKey), IncomingExpirationDaysKey, 7),
            ResultsTransitionDays = Integer(Text(ResultsTransitionDaysKey), ResultsTransitionDaysKey, 30),
            ResultsExpirationDays = Integer(Text(ResultsExpirationDaysKey), ResultsExpirationDaysKey, 365),
        };
        settings.Validate();
        return settings;
    }

    private void Validate()
    {
        if (!StageName().IsMatch(Stage))
        {
            throw new InfraConfigException($"Context '{StageKey}' is '{Stage}': use 1-20 lowercase letters, digits or '-', starting with a letter (e.g. -c {StageKey}=dev).");
        }

        // The ECS GPU-optimized AMI only makes sense on accelerated families (g4dn, g5, g6, p3, p4d, p5, ...).
        var match = InstanceTypeName().Match(GpuInstanceType);
        if (!match.Success || match.Groups["family"].Value[0] is not ('g' or 'p'))
        {
            throw new InfraConfigException($"Context '{GpuInstanceTypeKey}' is '{GpuInstanceType}': expected a GPU instance type such as g5.xlarge, g4dn.xlarge or p3.2xlarge (family starting with 'g' or 'p').");
        }

        if (GpuMinCapacity < 0 || GpuMaxCapacity < 1 || GpuMinCapacity > GpuMaxCapacity || GpuMaxCapacity > 100)
        {
            throw new InfraConfigException($"Context '{GpuMinCapacityKey}'={GpuMinCapacity} and '{GpuMaxCapacityKey}'={GpuMaxCapacity}: need 0 <= min <= max and 1 <= max <= 100 (min 0 lets the GPU service scale to zero).");
        }

        if (ApiAuth == ApiAuthMode.Jwt)
        {
            if (JwtIssuer is null || !Uri.TryCreate(JwtIssuer, UriKind.Absolute, out var issuer) || issuer.Scheme != Uri.UriSchemeHttps)
            {
                throw new InfraConfigException($"Context '{ApiAuthKey}' is 'jwt' but '{JwtIssuerKey}' is '{JwtIssuer}': give the issuer's https URL, e.g. -c {JwtIssuerKey}=https://login.example.com/.");
            }

            if (JwtAudience.Count == 0)
            {
                throw new InfraConfigException($"Context '{ApiAuthKey}' is 'jwt' but '{JwtAudienceKey}' is empty: give one or more comma-separated audiences, e.g. -c {JwtAudienceKey}=inference-api.");
            }
        }

        if (ExistingModelBucketName is { } bucket && !BucketName().IsMatch(bucket))
        {
            throw new InfraConfigException($"Context '{ModelBucketNameKey}' is '{bucket}': not a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-').");
        }

        RequireDays(IncomingExpirationDays, IncomingExpirationDaysKey);
        RequireDays(ResultsTransitionDays, ResultsTransitionDaysKey);
        RequireDays(ResultsExpirationDays, ResultsExpirationDaysKey);
        if (ResultsExpirationDays <= ResultsTransitionDays)
        {
            throw new InfraConfigException($"Context '{ResultsExpirationDaysKey}'={ResultsExpirationDays} must be greater than '{ResultsTransitionDaysKey}'={ResultsTransitionDays}: results are moved to infrequent access first, then deleted.");
        }

        if (!Directory.Exists(ModelsDirectory))
        {
            throw new InfraConfigException($"Context '{ModelsKey}': the models folder '{ModelsDirectory}' does not exist. Point it at the folder holding <name>/model.json (default ../.cache/store, the local store ./build.sh setup fills).");
        }

        foreach (var architecture in ModelArchitectures.Values.Append(LambdaArchitecture).Distinct())
        {
            var package = PackageFor(architecture);
            if (!File.Exists(package))
            {
                throw new InfraConfigException($"Context '{LambdaPackagesKey}': the {architecture.Name()} Lambda package '{package}' does not exist. Run ./build.sh package first (it writes artifacts/lambda/bootstrap-arm64.zip and bootstrap-x86_64.zip), or pass -c {LambdaPackagesKey}=<folder holding {architecture.PackageFileName()}>.");
            }
        }

        if (ExistingModelBucketName is null && !Directory.Exists(ModelStoreDirectory))
        {
            throw new InfraConfigException($"Context '{ModelStoreKey}': the local model store '{ModelStoreDirectory}' does not exist, so there is nothing to upload. Run ./build.sh setup (it fetches and verifies the models), or pass -c {ModelBucketNameKey}=<existing bucket holding models/>.");
        }
    }

    private static void RequireDays(int days, string key)
    {
        if (days is < 1 or > 3650)
        {
            throw new InfraConfigException($"Context '{key}'={days}: expected a number of days between 1 and 3650.");
        }
    }

    private static int Integer(string raw, string key, int fallback)
    {
        if (raw.Length == 0)
        {
            return fallback;
        }

        // cdk.json numbers arrive as doubles ("2"), command-line values as strings.
        return double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value == Math.Floor(value) && Math.Abs(value) < int.MaxValue
            ? (int)value
            : throw new InfraConfigException($"Context '{key}' is '{raw}': expected a whole number.");
    }

    private static bool Flag(string raw, string key, bool fallback) => raw.ToUpperInvariant() switch
    {
        "" => fallback,
        "TRUE" or "1" or "YES" or "ON" => true,
        "FALSE" or "0" or "NO" or "OFF" => false,
        _ => throw new InfraConfigException($"Context '{key}' is '{raw}': expected true or false."),
    };

    private static LambdaArchitecture ParseArchitecture(string raw, string key, LambdaArchitecture fallback) =>
        raw.Length == 0 ? fallback
        : LambdaArchitectureNames.TryParse(raw, out var architecture) ? architecture
        : throw new InfraConfigException($"Context '{key}' is '{raw}': expected arm64 (Graviton, the default) or x86_64.");

    private static Dictionary<string, LambdaArchitecture> ParseModelArchitectures(string raw)
    {
        var result = new Dictionary<string, LambdaArchitecture>(StringComparer.Ordinal);
        foreach (var entry in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !LambdaArchitectureNames.TryParse(entry[(equals + 1)..], out var architecture))
            {
                throw new InfraConfigException($"Context '{LambdaArchitecturesKey}' has '{entry}': expected <model>=arm64 or <model>=x86_64, comma-separated (e.g. -c {LambdaArchitecturesKey}=text-detection=x86_64).");
            }

            result[entry[..equals].Trim()] = architecture;
        }

        return result;
    }

    private static ApiAuthMode ParseAuth(string raw) => raw.ToUpperInvariant() switch
    {
        "" or "IAM" => ApiAuthMode.Iam,
        "JWT" => ApiAuthMode.Jwt,
        "NONE" => ApiAuthMode.None,
        _ => throw new InfraConfigException($"Context '{ApiAuthKey}' is '{raw}': expected iam (default), jwt (with {JwtIssuerKey} and {JwtAudienceKey}) or none (an open API, only when you mean it)."),
    };

    private static bool ParseEncryption(string raw) => raw.ToUpperInvariant() switch
    {
        "" or "S3" => false,
        "KMS" => true,
        _ => throw new InfraConfigException($"Context '{ModelBucketEncryptionKey}' is '{raw}': expected s3 (S3-managed keys, default) or kms (a customer-managed KMS key)."),
    };

    [GeneratedRegex("^[a-z][a-z0-9-]{0,19}$")]
    private static partial Regex StageName();

    [GeneratedRegex("^(?<family>[a-z][a-z0-9-]*)\\.[a-z0-9]+$")]
    private static partial Regex InstanceTypeName();

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();
}
