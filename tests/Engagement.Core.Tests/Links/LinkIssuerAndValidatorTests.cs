using Engagement.Links;

namespace Engagement.Core.Tests.Links;

public sealed class LinkIssuerAndValidatorTests
{
    private readonly LinkTestBed bed = new();

    [Fact]
    public async Task An_issued_link_is_a_short_url_safe_token_under_the_public_base_url_with_no_patient_data()
    {
        var link = await bed.IssueAsync();

        Assert.Equal($"https://engage.example.org/engage/{link.Token}", link.Url.ToString());
        Assert.True(link.Token.Length <= 60, $"token is {link.Token.Length} characters");
        Assert.Matches("^[A-Za-z0-9_.-]+$", link.Token);
        Assert.DoesNotContain("4711", link.Token, StringComparison.Ordinal);
        Assert.DoesNotContain("task-99", link.Token, StringComparison.Ordinal);
        Assert.StartsWith("k1.", link.Token, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_link_expires_after_seven_days_by_default_and_after_the_protocols_lifetime_when_given()
    {
        var byDefault = await bed.IssueAsync();
        var perProtocol = await bed.IssueAsync(TimeSpan.FromDays(2));

        Assert.Equal(bed.Clock.GetUtcNow().AddDays(7), byDefault.ExpiresAt);
        Assert.Equal(bed.Clock.GetUtcNow().AddDays(2), perProtocol.ExpiresAt);
    }

    [Fact]
    public async Task A_valid_link_opens_with_its_bound_ids_and_every_open_is_counted()
    {
        var link = await bed.IssueAsync();

        var first = await bed.Validator.ValidateForViewAsync(link.Token, CancellationToken.None);
        bed.Clock.Advance(TimeSpan.FromMinutes(5));
        var second = await bed.Validator.ValidateForViewAsync(link.Token, CancellationToken.None);

        Assert.True(first.IsValid);
        Assert.True(second.IsValid);
        Assert.Equal(("patient-4711", "task-99", "http://engagement-functions.org/fhir/Questionnaire/phq-9", "followup-abc"),
            (second.Context.PatientId, second.Context.TaskId, second.Context.QuestionnaireCanonical, second.Context.InstanceId));
        var stored = bed.Store.Peek(link.LinkId);
        Assert.Equal(2, stored.OpenCount);
        Assert.Equal(bed.Clock.GetUtcNow().AddMinutes(-5), stored.FirstOpenedAt);
        Assert.Equal(bed.Clock.GetUtcNow(), stored.LastOpenedAt);
    }

    [Fact]
    public async Task A_link_can_be_used_once_and_then_answers_used()
    {
        var link = await bed.IssueAsync();
        var opened = await bed.Validator.ValidateForViewAsync(link.Token, CancellationToken.None);

        var first = await bed.Validator.MarkUsedAsync(link.Token, opened.Context!.ETag, CancellationToken.None);
        var second = await bed.Validator.MarkUsedAsync(link.Token, opened.Context.ETag, CancellationToken.None);
        var view = await bed.Validator.ValidateForViewAsync(link.Token, CancellationToken.None);

        Assert.True(first.IsValid);
        Assert.Equal(LinkFailure.Used, second.Failure);
        Assert.Equal(LinkFailure.Used, view.Failure);
    }

    [Fact]
    public async Task Submitting_after_the_link_was_opened_again_in_another_tab_still_succeeds_once()
    {
        var link = await bed.IssueAsync();
        var firstTab = await bed.Validator.ValidateForViewAsync(link.Token, CancellationToken.None);
        await bed.Validator.ValidateForViewAsync(link.Token, CancellationToken.None); // second tab: the ETag moved on

        var used = await bed.Validator.MarkUsedAsync(link.Token, firstTab.Context!.ETag, CancellationToken.None);

        Assert.True(used.IsValid);
        Assert.NotNull(bed.Store.Peek(link.LinkId).UsedAt);
    }

    [Fact]
    public async Task Of_two_concurrent_submissions_exactly_one_succeeds()
    {
        var link = await bed.IssueAsync();
        var validated = await bed.Validator.ValidateAsync(link.Token, CancellationToken.None);
        bed.Store.HoldReads(2); // both submissions read the same unused version before either writes

        var results = await Task.WhenAll(
            Task.Run(() => bed.Validator.MarkUsedAsync(link.Token, validated.Context!.ETag, CancellationToken.None)),
            Task.Run(() => bed.Validator.MarkUsedAsync(link.Token, validated.Context!.ETag, CancellationToken.None)));

        Assert.Single(results, r => r.IsValid);
        Assert.Single(results, r => r.Failure == LinkFailure.Used);
    }

    [Fact]
    public async Task An_expired_link_is_refused_as_expired()
    {
        var link = await bed.IssueAsync(TimeSpan.FromHours(1));
        bed.Clock.Advance(TimeSpan.FromHours(1));

        var result = await bed.Validator.ValidateForViewAsync(link.Token, CancellationToken.None);

        Assert.Equal(LinkFailure.Expired, result.Failure);
    }

    [Fact]
    public async Task A_revoked_link_is_refused_as_revoked_even_before_it_expires()
    {
        var link = await bed.IssueAsync();

        Assert.True(await bed.Validator.RevokeAsync(link.LinkId, CancellationToken.None));
        var view = await bed.Validator.ValidateForViewAsync(link.Token, CancellationToken.None);
        var use = await bed.Validator.MarkUsedAsync(link.Token, "W/\"any\"", CancellationToken.None);

        Assert.Equal(LinkFailure.Revoked, view.Failure);
        Assert.Equal(LinkFailure.Revoked, use.Failure);
        Assert.False(await bed.Validator.RevokeAsync(LinkToken.NewLinkId(), CancellationToken.None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("k1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("k1..")]
    [InlineData("k1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.extra")]
    public async Task Made_up_tokens_are_refused_as_forged(string token)
    {
        var result = await bed.Validator.ValidateForViewAsync(token, CancellationToken.None);

        Assert.Equal(LinkFailure.Forged, result.Failure);
    }

    [Fact]
    public async Task A_token_with_one_changed_character_is_refused_as_forged_and_not_counted()
    {
        var link = await bed.IssueAsync();
        var chars = link.Token.ToCharArray();
        var last = chars.Length - 1;
        chars[last] = chars[last] == 'A' ? 'B' : 'A';
        var tamperedMac = new string(chars);
        var otherLinkId = link.Token.Replace(link.LinkId, LinkToken.NewLinkId(), StringComparison.Ordinal);

        Assert.Equal(LinkFailure.Forged, (await bed.Validator.ValidateForViewAsync(tamperedMac, CancellationToken.None)).Failure);
        Assert.Equal(LinkFailure.Forged, (await bed.Validator.ValidateForViewAsync(otherLinkId, CancellationToken.None)).Failure);
        Assert.Equal(LinkFailure.Forged, (await bed.Validator.MarkUsedAsync(tamperedMac, "W/\"x\"", CancellationToken.None)).Failure);
        Assert.Equal(0, bed.Store.Peek(link.LinkId).OpenCount);
    }

    [Fact]
    public async Task A_token_whose_key_id_is_swapped_for_another_configured_key_is_refused_as_forged()
    {
        bed.Options.Keys.Add(new LinkSigningKey { Id = "k2", Secret = LinkTestBed.SecretB });
        var link = await bed.IssueAsync();

        var swapped = "k2" + link.Token[2..];

        Assert.Equal(LinkFailure.Forged, (await bed.Validator.ValidateForViewAsync(swapped, CancellationToken.None)).Failure);
    }

    [Fact]
    public async Task After_a_key_rotation_old_links_still_work_until_their_key_is_removed()
    {
        var old = await bed.IssueAsync();
        bed.Options = new LinkOptions
        {
            Keys = [new LinkSigningKey { Id = "k1", Secret = LinkTestBed.SecretA }, new LinkSigningKey { Id = "k2", Secret = LinkTestBed.SecretB }],
            ActiveKeyId = "k2",
        };
        var fresh = await bed.IssueAsync();

        Assert.StartsWith("k2.", fresh.Token, StringComparison.Ordinal);
        Assert.True((await bed.Validator.ValidateForViewAsync(old.Token, CancellationToken.None)).IsValid);
        Assert.True((await bed.Validator.ValidateForViewAsync(fresh.Token, CancellationToken.None)).IsValid);

        bed.Options = new LinkOptions { Keys = [new LinkSigningKey { Id = "k2", Secret = LinkTestBed.SecretB }], ActiveKeyId = "k2" };

        Assert.Equal(LinkFailure.Forged, (await bed.Validator.ValidateForViewAsync(old.Token, CancellationToken.None)).Failure);
        Assert.True((await bed.Validator.ValidateForViewAsync(fresh.Token, CancellationToken.None)).IsValid);
    }

    [Fact]
    public async Task A_signed_token_whose_record_is_missing_is_refused_as_unknown()
    {
        var token = LinkToken.Create("k1", System.Text.Encoding.UTF8.GetBytes(LinkTestBed.SecretA), LinkToken.NewLinkId());

        var result = await bed.Validator.ValidateForViewAsync(token, CancellationToken.None);

        Assert.Equal(LinkFailure.Unknown, result.Failure);
    }

    [Fact]
    public async Task Issuing_refuses_a_short_secret_and_a_missing_active_key()
    {
        bed.Options = new LinkOptions { Keys = [new LinkSigningKey { Id = "k1", Secret = "too-short" }], ActiveKeyId = "k1" };
        await Assert.ThrowsAsync<InvalidOperationException>(() => bed.IssueAsync());

        bed.Options = new LinkOptions { Keys = [new LinkSigningKey { Id = "k1", Secret = LinkTestBed.SecretA }], ActiveKeyId = "k9" };
        await Assert.ThrowsAsync<InvalidOperationException>(() => bed.IssueAsync());
    }

    [Fact]
    public async Task A_token_signed_with_a_too_short_secret_never_validates()
    {
        var weak = System.Text.Encoding.UTF8.GetBytes("short");
        bed.Options = new LinkOptions { Keys = [new LinkSigningKey { Id = "weak", Secret = "short" }, new LinkSigningKey { Id = "k1", Secret = LinkTestBed.SecretA }], ActiveKeyId = "k1" };
        var link = await bed.IssueAsync();
        var forged = LinkToken.Create("weak", weak, link.LinkId);

        Assert.Equal(LinkFailure.Forged, (await bed.Validator.ValidateForViewAsync(forged, CancellationToken.None)).Failure);
    }

    [Fact]
    public async Task Lifetimes_that_are_not_positive_or_too_long_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bed.IssueAsync(TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bed.IssueAsync(TimeSpan.FromDays(91)));
    }
}
