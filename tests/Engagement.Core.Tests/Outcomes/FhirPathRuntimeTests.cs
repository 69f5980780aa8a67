using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Xunit;

namespace Engagement.Tests.Outcomes;

public class FhirPathRuntimeTests
{
    [Theory]
    [InlineData("%resource.item.where(linkId = 'phq9-9').answer.value")]
    [InlineData("%resource.item.where(linkId='phq9-total').answer.value")]
    [InlineData("%resource.item.where( linkId = 'phq9-2' ).answer.value | %resource.item.where(linkId = 'phq9-3').answer.value")]
    [InlineData("%resource.item.where(linkId = 'nope').exists()")]
    public void Root_item_lookup_rewrite_returns_what_Firelys_where_returns(string text)
    {
        var q = Fhir.Shipped("phq-9");
        var r = Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-phq-9-moderate.json");

        var compiled = FhirPathRuntime.Compile(text, "test");
        var ours = new ResponseScope(CompiledQuestionnaire.For(q), r).Evaluate(compiled, null);
        var firely = new FhirPathCompiler().Compile(text)(FhirPathRuntime.Node(r), new EvaluationContext()).ToList();

        Assert.NotEmpty(compiled.ItemLookups);
        Assert.Equal(firely.Count, ours.Count);
        Assert.All(firely.Zip(ours), pair => Assert.True(pair.First.Poco.IsExactly(pair.Second.Poco)));
    }
}
