using Amazon.CDK;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.S3.Assets;
using Amazon.CDK.AWS.S3.Deployment;
using Constructs;
using Serverless.Infra.Configuration;

namespace Serverless.Infra.Components;

/// <summary>
/// The model bucket (artifacts under <c>models/&lt;name&gt;/&lt;version&gt;/model.onnx</c>, the layout of the
/// local store, so MODEL_STORE=s3://bucket/models resolves manifest artifact keys unchanged) and the batch
/// bucket (<c>incoming/</c> in, <c>results/</c> out). Both are private, TLS-only and retained on stack
/// deletion. Unless an existing bucket is named, the local store and the manifests are uploaded at deploy time.
/// </summary>
internal sealed class ModelStorage : Construct
{
    public const string ModelPrefix = "models/";
    public const string IncomingPrefix = "incoming/";
    public const string ResultsPrefix = "results/";

    public ModelStorage(Construct scope, string id, InfraSettings settings) : base(scope, id)
    {
        if (settings.ExistingModelBucketName is { } existing)
        {
            // An imported bucket: its owner manages encryption; a KMS-encrypted one needs the key granted by hand.
            ModelBucket = Bucket.FromBucketName(this, "ModelBucket", existing);
        }
        else
        {
            if (settings.ModelBucketKms)
            {
                ModelKey = new Key(this, "ModelKey", new KeyProps
                {
                    EnableKeyRotation = true,
                    Description = "Encrypts the model artifacts bucket.",
                    RemovalPolicy = RemovalPolicy.RETAIN,
                });
            }

            ModelBucket = new Bucket(this, "ModelBucket", new BucketProps
            {
                Versioned = true,
                Encryption = settings.ModelBucketKms ? BucketEncryption.KMS : BucketEncryption.S3_MANAGED,
                EncryptionKey = ModelKey,
                BucketKeyEnabled = settings.ModelBucketKms,
                BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
                EnforceSSL = true,
                ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
                RemovalPolicy = RemovalPolicy.RETAIN,
                // Old artifact versions are kept for rollback, but not forever.
                LifecycleRules =
                [
                    new LifecycleRule { Id = "ExpireOldArtifactVersions", NoncurrentVersionExpiration = Duration.Days(90) },
                ],
            });
            Upload(settings);
        }

        BatchBucket = new Bucket(this, "BatchBucket", new BucketProps
        {
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            RemovalPolicy = RemovalPolicy.RETAIN,
            LifecycleRules =
            [
                new LifecycleRule
                {
                    Id = "ExpireIncoming",
                    Prefix = IncomingPrefix,
                    Expiration = Duration.Days(settings.IncomingExpirationDays),
                    AbortIncompleteMultipartUploadAfter = Duration.Days(1),
                },
                new LifecycleRule
                {
                    Id = "AgeResults",
                    Prefix = ResultsPrefix,
                    Transitions =
                    [
                        new Transition { StorageClass = Amazon.CDK.AWS.S3.StorageClass.INFREQUENT_ACCESS, TransitionAfter = Duration.Days(settings.ResultsTransitionDays) },
                    ],
                    Expiration = Duration.Days(settings.ResultsExpirationDays),
                },
            ],
        });
    }

    public IBucket ModelBucket { get; }

    /// <summary>The customer-managed key when <c>modelBucketEncryption=kms</c>; readers need kms:Decrypt on it.</summary>
    public IKey? ModelKey { get; }

    public Bucket BatchBucket { get; }

    /// <summary>The URI functions get as MODEL_STORE.</summary>
    public string ModelStoreUri => $"s3://{ModelBucket.BucketName}/{ModelPrefix.TrimEnd('/')}";

    /// <summary>Lets <paramref name="role"/> decrypt model objects when the bucket uses a customer-managed key.</summary>
    public void GrantKeyDecrypt(IRole role)
    {
        if (ModelKey is not null)
        {
            role.AddToPrincipalPolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "DecryptModels",
                Actions = ["kms:Decrypt"],
                Resources = [ModelKey.KeyArn],
            }));
        }
    }

    private void Upload(InfraSettings settings)
    {
        // Both folders are zipped as assets; the deployment unpacks them side by side under models/, so
        // models/<name>/model.json sits next to models/<name>/<version>/model.onnx. The local store setup fills is
        // self-describing (its manifests carry the hashes of the artifacts built on this machine): then it is the only asset.
        var store = new Asset(this, "StoreAsset", new AssetProps { Path = settings.ModelStoreDirectory });
        var manifests = SamePath(settings.ModelsDirectory, settings.ModelStoreDirectory) ? store : new Asset(this, "ManifestAsset", new AssetProps { Path = settings.ModelsDirectory });

        // Our own role, handed to BucketDeployment without policy updates: its built-in grants are wildcards
        // (s3:GetObject*, s3:List*, s3:DeleteObject*) on whole buckets; these statements are exact.
        var role = new Role(this, "UploadRole", new RoleProps
        {
            AssumedBy = new ServicePrincipal("lambda.amazonaws.com"),
            Description = "Copies the model store into the model bucket at deploy time.",
            ManagedPolicies = [ManagedPolicy.FromAwsManagedPolicyName("service-role/AWSLambdaBasicExecutionRole")],
        });
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ReadStagedAssets",
            Actions = ["s3:GetObject"],
            Resources = [store.Bucket.ArnForObjects(store.S3ObjectKey), manifests.Bucket.ArnForObjects(manifests.S3ObjectKey)],
        }));
        S3Access.AddTo(role, S3Access.ReadPrefix(ModelBucket, ModelPrefix));
        role.AddToPolicy(S3Access.WritePrefix(ModelBucket, ModelPrefix));
        if (ModelKey is not null)
        {
            role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "EncryptModels",
                Actions = ["kms:Decrypt", "kms:GenerateDataKey"],
                Resources = [ModelKey.KeyArn],
            }));
        }

        var storeMb = Directory.EnumerateFiles(settings.ModelStoreDirectory, "*", SearchOption.AllDirectories)
            .Sum(f => new FileInfo(f).Length) / (1024 * 1024);
        _ = new BucketDeployment(this, "Upload", new BucketDeploymentProps
        {
            Sources = manifests == store
                ? [Source.Bucket(store.Bucket, store.S3ObjectKey)]
                : [Source.Bucket(store.Bucket, store.S3ObjectKey), Source.Bucket(manifests.Bucket, manifests.S3ObjectKey)],
            DestinationBucket = ModelBucket,
            DestinationKeyPrefix = ModelPrefix,
            // Never delete what is not in the local store: other versions may have been published directly.
            Prune = false,
            RetainOnDelete = true,
            Role = role.WithoutPolicyUpdates(),
            MemoryLimit = 1024,
            // The handler downloads the zip into /tmp and unpacks it there: room for both, plus headroom.
            EphemeralStorageSize = Size.Mebibytes((int)Math.Clamp((2 * storeMb) + 512, 512, 10_240)),
            LogGroup = new LogGroup(this, "UploadLogs", new LogGroupProps
            {
                Retention = RetentionDays.ONE_MONTH,
                RemovalPolicy = RemovalPolicy.DESTROY,
            }),
        });
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd(Path.DirectorySeparatorChar), Path.GetFullPath(b).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal);
}
