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

    private static async Task<HttpStatusCode> StatusAsync(StandaloneHost host, string token)
    {
        var (status, _, response) = await LinkApi.PageAsync(host, token);
        response.Dispose();
        return status;
    }
}
