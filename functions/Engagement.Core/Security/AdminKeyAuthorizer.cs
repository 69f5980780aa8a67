using System.Security.Cryptography;
using System.Text;
using Engagement.Hosting;
using Engagement.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Engagement.Security;

/// <summary>Admin routes require <c>X-Admin-Key</c> equal to <c>Engagement__AdminKey</c>, compared in constant time.</summary>
public sealed class AdminKeyAuthorizer(IOptionsMonitor<EngagementOptions> options)
{
    public const string HeaderName = "X-Admin-Key";

    /// <summary>Null when the caller presented the admin key; otherwise the 401 to return.</summary>
    public IResult? Challenge(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var configured = options.CurrentValue.AdminKey;
        if (string.IsNullOrEmpty(configured))
        {
            return FhirResults.Forbidden("Admin routes are disabled: no admin key is configured.");
        }

        var presented = request.Headers[HeaderName].ToString();
        if (presented.Length == 0)
        {
            return FhirResults.Unauthorized($"This route requires the {HeaderName} header.");
        }

        return FixedTimeEquals(presented, configured) ? null : FhirResults.Unauthorized("The admin key is not valid.");
    }

    public static bool FixedTimeEquals(string presented, string expected)
    {
        ArgumentNullException.ThrowIfNull(presented);
        ArgumentNullException.ThrowIfNull(expected);
        var a = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        var b = SHA256.HashData(Encoding.UTF8.GetBytes(expected));
        return CryptographicOperations.FixedTimeEquals(a, b);
    }
}
