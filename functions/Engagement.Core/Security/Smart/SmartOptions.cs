namespace Engagement.Security.Smart;

/// <summary>
/// <c>Engagement:Smart</c>: the SMART authorization servers whose access tokens <c>/api/fhir</c> accepts
/// (<c>Engagement__Smart__Issuers__{n}__Issuer</c>, <c>__Audience</c>). The first issuer is the primary one, which
/// <c>/api/fhir/.well-known/smart-configuration</c> advertises.
/// </summary>
public sealed class SmartOptions
{
    public const string SectionName = "Engagement:Smart";

    public List<SmartIssuerOptions> Issuers { get; set; } = [];

    /// <summary>Tolerance for <c>exp</c> and <c>nbf</c> (clocks of the EHR and ours differ a little).</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an issuer's discovery document and JWKS are used before they are fetched again.</summary>
    public TimeSpan KeyCacheLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A token with a key id we do not know makes us fetch the JWKS again (the issuer rotated its keys), but at most
    /// once per this interval per issuer, so junk tokens cannot make us hammer the issuer.
    /// </summary>
    public TimeSpan MinimumKeyRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class SmartIssuerOptions
{
    /// <summary>The <c>iss</c> of accepted tokens, exactly; also the base of its discovery documents.</summary>
    public string? Issuer { get; set; }

    /// <summary>The <c>aud</c> accepted tokens must carry: our FHIR base URL as the issuer knows it.</summary>
    public string? Audience { get; set; }

    /// <summary>
    /// True: this issuer signs in the care team, so its tokens without a patient in context and with a scope to read
    /// MeasureReport also open the dashboard's data (<see cref="StaffAuthorizer"/>).
    /// </summary>
    public bool Staff { get; set; }
}
