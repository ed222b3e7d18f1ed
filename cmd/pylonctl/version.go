package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/cmd/internal/version"
)

func (a *app) versionCommand() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "This pylonctl's version and the running controller's and speakers'",
		Long: `version prints this binary's build, then what the running components say
they are: the controller's leader labels its leader Lease, and each speaker
its SpeakerStatus, with pylonlb.io/version; with it go each pod's image
and the image digest the node runs. A component older than that label
shows no version: its image is then the only hint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := &versionReport{Client: version.Get()}
			if !clientOnly {
				c, err := a.client()
				if err != nil {
					return err
				}
				if r.Controller, err = readLeader(cmd.Context(), c, a.pylonNamespace, a.clock.Now()); err != nil {
					return err
				}
				controllers, err := pods(cmd.Context(), c, a.pylonNamespace, "controller")
				if err != nil {
					return err
				}
				speakerPods, err := pods(cmd.Context(), c, a.pylonNamespace, "speaker")
				if err != nil {
					return err
				}
				var spk v1alpha1.SpeakerStatusList
				if err := c.List(cmd.Context(), &spk); err != nil {
					return fmt.Errorf("list SpeakerStatuses: %w", err)
				}
				r.fill(controllers, speakerPods, spk.Items)
			}
			return a.print(r, r.table)
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print this binary's version only; read nothing from the cluster")
	return cmd
}

// versionReport is what version prints.
type versionReport struct {
	Client version.Info `json:"client"`
	// Controller is the leader Lease, with the leader's version label.
	Controller  leader             `json:"controller,omitzero"`
	Controllers []componentVersion `json:"controllers,omitempty"`
	Speakers    []componentVersion `json:"speakers,omitempty"`
}

// componentVersion is one running pod: the version its component labels
// (the leader's Lease, the speaker's SpeakerStatus) and its image.
type componentVersion struct {
	Pod  string `json:"pod"`
	Node string `json:"node,omitempty"`
	// Version is what the component itself says ("" when it does not).
	Version string `json:"version,omitempty"`
	Image   string `json:"image,omitempty"`
	// ImageID is the image the node runs (usually a digest).
	ImageID string `json:"imageID,omitempty"`
}

func (r *versionReport) fill(controllers, speakerPods []corev1.Pod, speakers []v1alpha1.SpeakerStatus) {
	for i := range controllers {
		p := &controllers[i]
		cv := componentVersion{Pod: p.Name, Node: p.Spec.NodeName, Image: image(p), ImageID: imageID(p)}
		if p.Name == r.Controller.Pod {
			cv.Version = r.Controller.Version
		}
		r.Controllers = append(r.Controllers, cv)
	}
	byNode := map[string]string{}
	for _, s := range speakers {
		byNode[s.Name] = s.Labels[v1alpha1.LabelVersion]
	}
	for i := range speakerPods {
		p := &speakerPods[i]
		r.Speakers = append(r.Speakers, componentVersion{Pod: p.Name, Node: p.Spec.NodeName, Version: byNode[p.Spec.NodeName], Image: image(p), ImageID: imageID(p)})
	}
}

func imageID(p *corev1.Pod) string {
	if len(p.Status.ContainerStatuses) == 0 {
		return ""
	}
	return p.Status.ContainerStatuses[0].ImageID
}

func (r *versionReport) table(w io.Writer) {
	fmt.Fprintf(w, "Client:\t%s\n", r.Client.String("pylonctl"))
	if !r.Controller.Found && r.Controllers == nil && r.Speakers == nil && r.Controller.Lease == "" {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "COMPONENT\tPOD\tNODE\tVERSION\tIMAGE")
	for _, c := range r.Controllers {
		role := "controller"
		if c.Pod == r.Controller.Pod {
			role = "controller (leader)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", role, c.Pod, orDash(c.Node), orDash(c.Version), orDash(c.Image))
	}
	for _, s := range r.Speakers {
		fmt.Fprintf(w, "speaker\t%s\t%s\t%s\t%s\n", s.Pod, orDash(s.Node), orDash(s.Version), orDash(s.Image))
	}
}
