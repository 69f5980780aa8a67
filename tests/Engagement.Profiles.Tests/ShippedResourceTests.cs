using Engagement.Testing;
using Hl7.Fhir.Model;

namespace Engagement.Profiles.Tests;

/// <summary>Every JSON file in <c>fhir-profiles/</c> (ours and those other features add) is checked here.</summary>
public sealed class ShippedResourceTests
{
    private static readonly string PackageDirectory = PackageFiles.FindPackageDirectory();

    public static TheoryData<string> ResourceFiles()
    {
        var data = new TheoryData<string>();
        foreach (var name in PackageFiles.ResourceFileNames(PackageDirectory))
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ResourceFiles))]
    public void Every_shipped_resource_parses_as_FHIR_R4(string fileName)
    {
        var file = PackageFiles.Read(PackageDirectory, fileName);

        Assert.True(file.Resource is not null, $"{fileName}: {file.ParseError}");
    }

    [Theory]
    [MemberData(nameof(ResourceFiles))]
    public void Every_shipped_resource_validates_without_errors(string fileName)
    {
        var file = PackageFiles.Read(PackageDirectory, fileName);
        Assert.True(file.Resource is not null, $"{fileName}: {file.ParseError}");

        var result = ProfileValidator.Shared.Validate(file.Resource!, options: OptionsFor(file.Resource!));

        Assert.True(result.IsValid, $"{fileName}:{Environment.NewLine}{string.Join(Environment.NewLine, result.Errors)}");
    }

    [Theory]
    [MemberData(nameof(ResourceFiles))]
    public void Every_shipped_file_is_named_after_its_resource_type_and_id(string fileName)
    {
        var resource = PackageFiles.Read(PackageDirectory, fileName).Resource;
        Assert.NotNull(resource);

        Assert.Equal($"{resource.TypeName}-{resource.Id}.json", fileName);
    }

    [Theory]
    [MemberData(nameof(ResourceFiles))]
    public void Every_shipped_canonical_resource_has_url_base_type_id(string fileName)
    {
        var resource = PackageFiles.Read(PackageDirectory, fileName).Resource;
        Assert.NotNull(resource);

        var url = resource switch
        {
            IVersionableConformanceResource canonical => canonical.Url,
            Measure measure => measure.Url,
            Basic basic when SubscriptionTopics.IsTopic(basic) => SubscriptionTopics.Url(basic),
            _ => null,
        };
        var type = resource is Basic ? "SubscriptionTopic" : resource.TypeName;

        if (resource is IConformanceResource or Measure or Basic)
        {
            Assert.Equal($"{ProfileValidator.CanonicalBase}/{type}/{resource.Id}", url);
        }
        else
        {
            Assert.Null(url);
        }
    }

    private static ValidationOptions OptionsFor(Resource resource) =>
        resource is Subscription || (resource is Basic basic && SubscriptionTopics.IsTopic(basic))
            ? ValidationOptions.SubscriptionsBackport
            : ValidationOptions.Strict;
}
