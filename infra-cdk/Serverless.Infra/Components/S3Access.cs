using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.S3;

namespace Serverless.Infra.Components;

/// <summary>
/// Explicit, prefix-scoped S3 statements. <c>bucket.GrantRead</c> is avoided on purpose: it grants
/// wildcard actions (<c>s3:GetObject*</c>, <c>s3:List*</c>) on the whole bucket, while each function here
/// needs exactly one verb on its own prefix.
/// </summary>
internal static class S3Access
{
    /// <summary>GetObject under <paramref name="prefix"/> and ListBucket restricted to that prefix (for HEAD/404 semantics).</summary>
    public static IEnumerable<PolicyStatement> ReadPrefix(IBucket bucket, string prefix)
    {
        yield return new PolicyStatement(new PolicyStatementProps
        {
            Sid = Sid("Read", prefix),
            Actions = ["s3:GetObject"],
            Resources = [bucket.ArnForObjects(prefix + "*")],
        });
        yield return new PolicyStatement(new PolicyStatementProps
        {
            Sid = Sid("List", prefix),
            Actions = ["s3:ListBucket"],
            Resources = [bucket.BucketArn],
            Conditions = new Dictionary<string, object>
            {
                ["StringLike"] = new Dictionary<string, object> { ["s3:prefix"] = new[] { prefix + "*" } },
            },
        });
    }

    /// <summary>
    /// PutObject (which also covers the multipart upload calls) and AbortMultipartUpload, so a failed large
    /// upload can be cleaned up, under <paramref name="prefix"/> only. The prefix may hold a '*' segment.
    /// </summary>
    public static PolicyStatement WritePrefix(IBucket bucket, string prefix) => new(new PolicyStatementProps
    {
        Sid = Sid("Write", prefix),
        Actions = ["s3:PutObject", "s3:AbortMultipartUpload"],
        Resources = [bucket.ArnForObjects(prefix + "*")],
    });

    public static void AddTo(IRole role, IEnumerable<PolicyStatement> statements)
    {
        foreach (var statement in statements)
        {
            role.AddToPrincipalPolicy(statement);
        }
    }

    // Sids must be alphanumeric; they make the synthesized policies readable in the console.
    private static string Sid(string verb, string prefix) =>
        verb + string.Concat(prefix.Split('/', '-', '_', '.', '*').Where(p => p.Length > 0).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}
