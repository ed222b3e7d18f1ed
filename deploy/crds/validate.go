package crds

import (
	"context"
	"fmt"
	"slices"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// RulesNotChecked is the note the API server adds, with no field (Field is
// ""; the API server writes "<nil>"), when an
// object fails its OpenAPI schema in a way that stops the CEL rules from
// running; Validate adds it in the same case.
const RulesNotChecked = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"

// Validator checks objects of the embedded CRDs' kinds as the API server
// does when they are created. It is safe for concurrent use.
type Validator struct {
	kinds map[schema.GroupKind]*kind
}

// kind is what the API server derives from one CRD.
type kind struct {
	namespaced bool
	versions   map[string]*version
}

// version is one served version's schema, as the API server compiles it.
type version struct {
	structural *structuralschema.Structural
	openAPI    apiservervalidation.SchemaValidator
	cel        *cel.Validator // nil when the schema has no rules
	// dropStatus: with the status subresource, a create ignores status.
	dropStatus bool
}

// NewValidator compiles the embedded CRDs' schemas and CEL rules.
func NewValidator() (*Validator, error) {
	defs, err := Definitions()
	if err != nil {
		return nil, err
	}
	v := &Validator{kinds: map[schema.GroupKind]*kind{}}
	for i := range defs {
		crd := &defs[i]
		k := &kind{namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped, versions: map[string]*version{}}
		for j := range crd.Spec.Versions {
			cv := &crd.Spec.Versions[j]
			if !cv.Served || cv.Schema == nil {
				continue
			}
			ver, err := compile(cv)
			if err != nil {
				return nil, fmt.Errorf("CRD %s version %s: %w", crd.Name, cv.Name, err)
			}
			k.versions[cv.Name] = ver
		}
		v.kinds[schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}] = k
	}
	return v, nil
}

// compile turns one version's schema into its structural schema, OpenAPI
// validator and CEL validator, the way the API server's CRD handler does.
func compile(cv *apiextensionsv1.CustomResourceDefinitionVersion) (*version, error) {
	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(cv.Schema, internal, nil); err != nil {
		return nil, err
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, err
	}
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, err
	}
	openAPI, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, err
	}
	return &version{
		structural: s,
		openAPI:    openAPI,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
		dropStatus: cv.Subresources != nil && cv.Subresources.Status != nil,
	}, nil
}

// Knows says whether gk is one of the embedded CRDs' kinds.
func (v *Validator) Knows(gk schema.GroupKind) bool {
	_, ok := v.kinds[gk]
	return ok
}

// Validate checks obj as the API server checks a create with strict field
// validation, and returns the object the API server would store (unknown
// fields pruned, defaults filled in) with every error, each naming its field
// path. obj itself is not changed. An object of a kind the CRDs do not
// define is an error.
func (v *Validator) Validate(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, field.ErrorList, error) {
	gvk := obj.GroupVersionKind()
	k, ok := v.kinds[gvk.GroupKind()]
	if !ok {
		return nil, nil, fmt.Errorf("%s is not a kind of pylon's CRDs", gvk.GroupKind())
	}
	ver, ok := k.versions[gvk.Version]
	if !ok {
		served := make([]string, 0, len(k.versions))
		for name := range k.versions {
			served = append(served, gvk.Group+"/"+name)
		}
		slices.Sort(served)
		return nil, field.ErrorList{field.NotSupported(field.NewPath("apiVersion"), obj.GetAPIVersion(), served)}, nil
	}
	// Numbers as the API server decodes them from JSON: whole numbers
	// int64, others float64 (an object read with sigs.k8s.io/yaml or
	// encoding/json has float64 only, which CEL refuses for integer
	// fields).
	js, err := obj.MarshalJSON()
	if err != nil {
		return nil, nil, err
	}
	decoded, _, err := unstructured.UnstructuredJSONScheme.Decode(js, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	out, ok := decoded.(*unstructured.Unstructured)
	if !ok {
		return nil, nil, fmt.Errorf("%s decodes to %T", gvk, decoded)
	}
	u := out.Object
	if ver.dropStatus {
		delete(u, "status")
	}

	// Strict field validation: the fields pruning drops, in metadata and
	// elsewhere, are errors.
	_, _, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), nil, err.Error())}, nil
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(u, ver.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u, ver.structural)
	coerceErr, more := schemaobjectmeta.CoerceWithOptions(nil, u, ver.structural, false,
		schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	unknown = append(unknown, more...)
	// The API server refuses unknown fields before it validates anything.
	if len(unknown) > 0 {
		var errs field.ErrorList
		for _, p := range unknown {
			errs = append(errs, field.Forbidden(field.NewPath(p), "unknown field: the schema does not declare it"))
		}
		return out, errs, nil
	}
	if coerceErr != nil {
		return out, field.ErrorList{coerceErr}, nil
	}
	structuraldefaulting.Default(u, ver.structural)

	// A cluster-scoped object's namespace is cleared on create.
	if !k.namespaced {
		out.SetNamespace("")
	}
	errs := metavalidation.ValidateObjectMetaAccessor(out, k.namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u, ver.openAPI)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, u, ver.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, ver.structural, u)...)
	if ver.cel != nil {
		if blocking(errs) {
			errs = append(errs, &field.Error{Type: field.ErrorTypeInvalid, BadValue: field.OmitValueType{}, Detail: RulesNotChecked})
		} else {
			celErrs, _ := ver.cel.Validate(ctx, nil, ver.structural, u, nil, celconfig.RuntimeCELCostBudget)
			errs = append(errs, celErrs...)
		}
	}
	return out, errs, nil
}

// blocking is the API server's rule for skipping the CEL rules: errors of
// these types leave the object too malformed for the rules to run.
func blocking(errs field.ErrorList) bool {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}
