using System.Net;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Links;

/// <summary>Key rotation across restarts with changed configuration, on one storage account.</summary>
public sealed class LinkKeyRotationTests
{
    [Fact]
    public async Task Links_signed_with_a_rotated_out_key_work_while_it_is_configured_and_are_401_once_it_is_removed()
    {
        IssuedTestLink old;
        await using (var before = new StandaloneHost(LinkApi.Settings("k1", ("k1", LinkApi.SecretOne))))
        {
            await before.StartAsync();
            old = await LinkApi.IssueAsync(before);
        }

        IssuedTestLink fresh;
        await using (var rotated = new StandaloneHost(LinkApi.Settings("k2", ("k1", LinkApi.SecretOne), ("k2", LinkApi.SecretTwo))))
        {
            await rotated.StartAsync();
            fresh = await LinkApi.IssueAsync(rotated);
            Assert.StartsWith("k2.", fresh.Token, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(rotated, old.Token));
        }

        await using var after = new StandaloneHost(LinkApi.Settings("k2", ("k2", LinkApi.SecretTwo)));
        await after.StartAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(after, old.Token));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(after, fresh.Token));
    }

    [Fact]
    public async Task Without_configured_link_keys_links_are_signed_with_a_key_derived_from_the_admin_key()
    {
        // An Azure deployment configured with only the contract's settings (the admin key is one) still issues links.
        var noKeys = new Dictionary<string, string?>
        {
            ["Engagement__Diagnostics__Enabled"] = "true",
            ["Engagement__Outbox__DispatchInterval"] = "1.00:00:00",
        };
        IssuedTestLink derived;
        await using (var host = new StandaloneHost(noKeys))
        {
            await host.StartAsync();
            derived = await LinkApi.IssueAsync(host);
            Assert.StartsWith("admin.", derived.Token, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(host, derived.Token));
        }

        // Configuring keys later: new links use them, links already sent keep working while the admin key is the same.
        await using (var configured = new StandaloneHost(LinkApi.Settings("k1", ("k1", LinkApi.SecretOne))))
        {
            await configured.StartAsync();
            Assert.StartsWith("k1.", (await LinkApi.IssueAsync(configured)).Token, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(configured, derived.Token));
        }

        // Another admin key derives another key: the link is refused.
        await using var rotatedAdmin = new StandaloneHost(new Dictionary<string, string?>(noKeys) { ["Engagement__AdminKey"] = "another-admin-key" });
        await rotatedAdmin.StartAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(rotatedAdmin, derived.Token));
    }

    private static async Task<HttpStatusCode> StatusAsync(StandaloneHost host, string token)
    {
        var (status, _, response) = await LinkApi.PageAsync(host, token);
        response.Dispose();
        return status;
    }
}
